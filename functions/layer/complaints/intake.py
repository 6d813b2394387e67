"""Intake: parse a submission, store the case exactly once, start its workflow; status; reconciliation."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from complaints import ids, stats
from complaints.classify import Classifier, Taxonomy, load_taxonomy
from complaints.errors import (
    CaseNotFound,
    ConflictError,
    IdempotencyKeyReused,
    InvalidSubmission,
    MalformedBody,
    PayloadTooLarge,
    UnsupportedMediaType,
    WorkflowStartFailed,
)
from complaints.i18n import messages, negotiate
from complaints.models import Accepted, Case, CaseEvent, ComplaintIn, Status, StatusView, TimelineEntry
from complaints.policy import Policy, real_seconds
from complaints.repository import CaseRepository, Claim
from complaints.settings import Settings
from complaints.workflow import Workflow

Clock = Callable[[], datetime]
COMPLAINT_ID = re.compile(r"^CMP-\d{8}-[0-9A-HJKMNP-TV-Z]{6}$")
FORM_FIELDS = {
    "name": ("customer", "name"),
    "email": ("customer", "email"),
    "phone": ("customer", "phone"),
    "customerId": ("customer", "id"),
    "locale": ("customer", "locale"),
    "channel": ("channel",),
    "subject": ("subject",),
    "description": ("description",),
    "occurredAt": ("occurredAt",),
    "desiredResolution": ("desiredResolution",),
}
# Limits on what an anonymous body can make the parsers do (the body itself is at most 64 KiB):
# nesting (Python's JSON parser recurses, and a thousand levels exhaust its stack), the digits of a
# number (int() refuses over 4,300, and nothing here needs more than a money amount), and form fields
# (the form has 13; the task pages fewer).
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40
MAX_FORM_FIELDS = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def utc_now() -> datetime:
    return datetime.now(UTC)


def status_url(base_url: str, complaint_id: str, access_code: str) -> str:
    """The complainant's link to their case: the access code rides in the query string."""
    return f"{base_url.rstrip('/')}/complaints/{complaint_id}?code={access_code}"


# ---------------------------------------------------------------- parsing


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def decode_body(body: str | None, is_base64: bool, limit: int) -> bytes:
    raw = (body or "").encode("utf-8")
    if is_base64:
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error as error:
            raise MalformedBody("the body is not valid base64") from error
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {limit}")
    return raw


def parse_form(text: str) -> list[tuple[str, str]]:
    """An urlencoded form's fields, at most MAX_FORM_FIELDS of them (MalformedBody over that)."""
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as error:
        raise MalformedBody(f"the form has too many fields; the limit is {MAX_FORM_FIELDS}") from error


def form_fields(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody("the form is not UTF-8") from error
    return {name: value for name, value in parse_form(text) if value.strip()}


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (its strings skipped), without parsing it."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise MalformedBody(f"a number in the body is over {MAX_NUMBER_CHARS} characters")
        value = kind(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise MalformedBody("a number in the body is out of range")
        return value

    return parse


def _no_constant(literal: str) -> Any:
    raise MalformedBody(f"{literal} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """A JSON body, within the limits above: MalformedBody for anything it cannot or should not parse."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedBody("the body is not valid JSON: it is not UTF-8") from error
    if json_depth(text) > MAX_JSON_DEPTH:
        raise MalformedBody(f"the body nests too deep; the limit is {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant
        )
    except json.JSONDecodeError as error:
        raise MalformedBody(f"the body is not valid JSON: {error}") from error
    except RecursionError as error:  # json_depth counts too few only for text json.loads refuses anyway
        raise MalformedBody("the body nests too deep") from error


def form_to_document(fields: dict[str, str]) -> dict[str, Any]:
    """The HTML form's flat fields as the JSON API's document."""
    document: dict[str, Any] = {"channel": "web"}
    for name, path in FORM_FIELDS.items():
        if name in fields:
            target = document
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = fields[name]
    if "referenceId" in fields:
        document["references"] = {fields.get("referenceName", "reference"): fields["referenceId"]}
    if "amountValue" in fields:
        document["amount"] = {"value": fields["amountValue"], "currency": fields.get("amountCurrency", "")}
    document.setdefault("customer", {})
    return document


def parse_submission(raw: bytes, content_type: str | None) -> ComplaintIn:
    """A request body (JSON or HTML form) as a ComplaintIn. Raises the domain's input errors."""
    media = (content_type or "").split(";")[0].strip().lower()
    if is_form(media):
        document: Any = form_to_document(form_fields(raw))
    elif media == "application/json" or media.endswith("+json"):
        document = parse_json(raw)
        if not isinstance(document, dict):
            raise MalformedBody("the body must be a JSON object")
    else:
        raise UnsupportedMediaType(
            f"unsupported content type {media or '(none)'}; "
            "send application/json or application/x-www-form-urlencoded"
        )
    try:
        return ComplaintIn.model_validate(document)
    except ValidationError as error:
        raise InvalidSubmission(field_errors(error)) from None


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{"field": "customer.email", "message", "type"}`, never echoing the input.

    A validator's message can quote the input after a colon (email_validator quotes the part of the
    address it rejects), so a value error keeps only the words before the first colon."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "body",
            "message": item["msg"].split(":", 1)[0] if item["type"] == "value_error" else item["msg"],
            "type": item["type"],
        }
        for item in error.errors(include_input=False, include_url=False)
    ]


# ---------------------------------------------------------------- service


@dataclass
class Submission:
    accepted: Accepted
    created: bool
    locale: str
    channel: str
    workflow_started: bool = False


@dataclass
class ReconcileReport:
    started: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _normalised_text(text: str) -> str:
    return " ".join(text.split()).casefold()


class IntakeService:
    def __init__(
        self,
        repository: CaseRepository,
        workflow: Workflow,
        policy: Policy,
        settings: Settings,
        clock: Clock = utc_now,
        classifier: Classifier | None = None,
    ):
        self._repository = repository
        self._workflow = workflow
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._classifier = classifier

    def _regulatory_category(self, complaint: ComplaintIn) -> str | None:
        """The category whose regulatory deadline the acknowledgement states (payments: 15 business days).

        A confident rules classification only; triage classifies for real and may bring the date
        forward, never back."""
        if self._classifier is None:
            return None
        text = "\n".join(
            p for p in (complaint.subject, complaint.description, complaint.desiredResolution) if p
        )
        found = self._classifier.classify(text, complaint.categoryHint)
        return None if found.manual_review else found.category

    def _claim(self, complaint: ComplaintIn, idempotency_key: str | None, complaint_id: str, code: str, now):
        request = complaint.model_dump_json()
        if idempotency_key:
            key = ids.fingerprint("idempotency-key", idempotency_key)
            ttl = self._policy.idempotency_key_ttl_seconds
        else:
            key = ids.fingerprint(
                "same-text", complaint.customer.email.lower(), _normalised_text(complaint.description)
            )
            ttl = self._policy.duplicate_window_seconds
        return Claim(
            key=key,
            complaint_id=complaint_id,
            access_code=code,
            request_fingerprint=ids.fingerprint(request) if idempotency_key else key,
            expires_at=now + timedelta(seconds=ttl),
        )

    def submit(
        self,
        complaint: ComplaintIn,
        idempotency_key: str | None = None,
        accept_language: str | None = None,
        base_url: str = "",
    ) -> Submission:
        """Store the complaint once and start its workflow; a repeat gets the first answer back.

        `base_url` is the API's URL as the complainant reached it: links about the case point there."""
        locale = complaint.customer.locale or negotiate(accept_language)
        occurred = complaint.occurredAt
        if occurred is not None and occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=ZoneInfo(self._policy.calendar.timezone))
        category = self._regulatory_category(complaint)
        for _attempt in range(5):
            now = self._clock()
            complaint_id = ids.new_complaint_id(now)
            code = ids.new_access_code()
            claim = self._claim(complaint, idempotency_key, complaint_id, code, now)
            case = Case(
                complaint_id=complaint_id,
                status=Status.RECEIVED,
                created_at=now,
                updated_at=now,
                channel=complaint.channel,
                locale=locale,
                customer=complaint.customer.model_copy(update={"locale": locale}),
                subject=complaint.subject,
                description=complaint.description,
                occurred_at=occurred,
                references=complaint.references,
                amount=complaint.amount,
                desired_resolution=complaint.desiredResolution,
                category_hint=complaint.categoryHint,
                access_code_hash=ids.hash_access_code(code),
                pending_access_code=code,
                response_due_at=self._policy.response_due(now, category),
                public_base_url=base_url or None,
            )
            event = CaseEvent(at=now, type="RECEIVED", params={"channel": complaint.channel})
            try:
                counted = stats.tally(
                    now, self._policy.calendar.timezone, complaint_id, stats.received(complaint.channel)
                )
                earlier = self._repository.create(case, event, claim, now, counted)
            except ConflictError:
                continue  # the random id was taken: draw another
            if earlier is not None:
                if earlier.request_fingerprint != claim.request_fingerprint:
                    raise IdempotencyKeyReused("this Idempotency-Key was used for a different complaint")
                return Submission(
                    self._accepted(earlier.complaint_id, earlier.access_code, base_url),
                    False,
                    locale,
                    complaint.channel,
                )
            submission = Submission(
                self._accepted(complaint_id, code, base_url), True, locale, complaint.channel
            )
            submission.workflow_started = self.start_workflow(complaint_id)
            return submission
        raise ConflictError("could not draw a free complaint id")

    def _accepted(self, complaint_id: str, code: str, base_url: str) -> Accepted:
        return Accepted(
            complaintId=complaint_id,
            accessCode=code,
            status=Status.RECEIVED,
            statusUrl=status_url(self._settings.links_base(base_url), complaint_id, code),
        )

    def start_workflow(self, complaint_id: str) -> bool:
        """Start the execution and record it; False (the case stays RECEIVED for the reconciler) if not."""
        try:
            arn = self._workflow.start(complaint_id)
        except WorkflowStartFailed:
            return False
        self._repository.mark_started(complaint_id, arn, CaseEvent(at=self._clock(), type="WORKFLOW_STARTED"))
        return True

    def reconcile(self, limit: int = 100) -> ReconcileReport:
        """Start the workflow of every case saved but never started (StartExecution failed after the save)."""
        grace = real_seconds(self._policy.reconcile_grace_seconds, self._settings.time_scale)
        report = ReconcileReport()
        for complaint_id in self._repository.unstarted(self._clock() - timedelta(seconds=grace), limit):
            (report.started if self.start_workflow(complaint_id) else report.failed).append(complaint_id)
        return report

    def status(self, complaint_id: str, access_code: str | None) -> StatusView:
        """The case as its complainant sees it. Unknown id and wrong code raise the same CaseNotFound
        after the same work (one read of the code's hash, one hash and compare, against a dummy hash
        when there is no case), so timing does not tell which ids exist."""
        if not COMPLAINT_ID.match(complaint_id or "") or not access_code:
            raise CaseNotFound(complaint_id)
        stored = self._repository.access_code_hash(complaint_id)
        if not ids.access_code_matches(access_code, stored or ids.DUMMY_CODE_HASH) or stored is None:
            raise CaseNotFound(complaint_id)
        case, events = self._repository.get(complaint_id)
        return status_view(case, events, load_taxonomy())


def status_view(case: Case, events: list[CaseEvent], taxonomy: Taxonomy) -> StatusView:
    """The case for its complainant, the timeline written in the case's language."""
    text = messages(case.locale)
    channels = text["channels"]
    timeline = []
    for event in events:
        params = dict(event.params)
        if "channel" in params:
            params["channel"] = channels.get(params["channel"], params["channel"])
        if "category" in params:
            params["category"] = taxonomy.category_name(params["category"], case.locale)
        if "department" in params:
            params["department"] = taxonomy.department_name(params["department"], case.locale)
        template = text["timeline"].get(event.type, event.type)
        timeline.append(TimelineEntry(at=event.at, type=event.type, detail=template.format(**params)))
    return StatusView(
        complaintId=case.complaint_id,
        status=case.status,
        category=case.category,
        confidence=case.confidence,
        evidence=case.evidence,
        priority=case.priority,
        priorityBreakdown=case.priority_breakdown,
        department=case.department,
        assignee=case.assignee_name,
        createdAt=case.created_at,
        firstResponseDueAt=case.first_response_due_at,
        resolutionDueAt=case.resolution_due_at,
        responseDueAt=case.response_due_at,
        relatedTo=case.related_to,
        timeline=timeline,
    )
