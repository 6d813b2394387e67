"""Intake: store the case exactly once, start its workflow; the complainant's status view; reconciliation
of cases whose workflow did not start."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from complaints.core import changes, ids, stats
from complaints.core.calendar import Policy, real_seconds
from complaints.core.clock import Clock, utc_now
from complaints.core.conversation import Message, message_view
from complaints.core.errors import (
    ConflictError,
    IdempotencyKeyReused,
    InvalidSubmission,
    WorkflowStartFailed,
)
from complaints.core.locale import negotiate
from complaints.core.models import (
    STAFF_CHANNELS,
    Accepted,
    Case,
    CaseEvent,
    ComplaintIn,
    StaffComplaintIn,
    Status,
    StatusView,
    TimelineEntry,
)
from complaints.core.ports import Conversation, Workflow
from complaints.core.settings import Settings
from complaints.intake.access import check_access
from complaints.intake.ports import CaseRepository, Claim
from complaints.presentation.i18n import messages
from complaints.presentation.links import status_url

if TYPE_CHECKING:
    from complaints.classification.classifier import Classifier
    from complaints.classification.taxonomy import Taxonomy


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


def _check_who_files(channel: str, agent: str | None) -> None:
    """A phone or chat complaint is filed by the member of staff who took it, and only those are: the
    channel and the agent's identity come together or not at all."""
    if agent is not None and not agent.strip():
        raise ValueError("an agent's identity must not be empty")
    if channel in STAFF_CHANNELS and agent is None:
        message = "phone and chat complaints are filed by our staff for the customer"
    elif channel not in STAFF_CHANNELS and agent is not None:
        message = "staff file phone or chat complaints; the customer files the others"
    else:
        return
    raise InvalidSubmission([{"field": "channel", "message": message, "type": "channel_not_allowed"}])


class IntakeService:
    def __init__(
        self,
        repository: CaseRepository,
        workflow: Workflow,
        policy: Policy,
        settings: Settings,
        clock: Clock = utc_now,
        classifier: Classifier | None = None,
        conversation: Conversation | None = None,
    ):
        self._repository = repository
        self._conversation = conversation
        self._workflow = workflow
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._classifier = classifier

    def _regulatory_category(self, complaint: ComplaintIn | StaffComplaintIn) -> str | None:
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

    def _claim(
        self,
        complaint: ComplaintIn | StaffComplaintIn,
        idempotency_key: str | None,
        complaint_id: str,
        code: str,
        now,
    ):
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
        complaint: ComplaintIn | StaffComplaintIn,
        idempotency_key: str | None = None,
        accept_language: str | None = None,
        base_url: str = "",
        agent: str | None = None,
    ) -> Submission:
        """Store the complaint once and start its workflow; a repeat gets the first answer back.

        `base_url` is the API's URL as the complainant reached it: links about the case point there.
        `agent` is the authenticated identity of the member of staff filing a phone or chat complaint for
        the customer: it goes on the case (`filed_by`) and in its RECEIVED event, the audit trail."""
        _check_who_files(complaint.channel, agent)
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
                filed_by=agent,
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
            received = {"channel": complaint.channel} | ({"agent": agent} if agent else {})
            event = CaseEvent(at=now, type="RECEIVED", params=received)
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
        from complaints.classification.taxonomy import load_taxonomy  # parsed on first use, not at import

        check_access(self._repository, complaint_id, access_code)
        case, events = self._repository.get(complaint_id)
        # The case counts its messages: most have none, and the status page is polled.
        conversation = (
            self._conversation.messages(complaint_id) if self._conversation and case.message_count else []
        )
        paused = changes.paused_seconds(case, self._clock(), self._settings.time_scale)
        return status_view(case, events, load_taxonomy(), conversation, paused)


def status_view(
    case: Case,
    events: list[CaseEvent],
    taxonomy: Taxonomy,
    conversation: list[Message] | None = None,
    paused_now: float = 0,
) -> StatusView:
    """The case for its complainant, the timeline written in the case's language. `paused_now`: the policy
    seconds of its current wait for the complainant (its SLA pause) so far."""
    text = messages(case.locale)
    channels = text["channels"]
    timeline = []
    for event in events:
        params = dict(event.params)
        kind = event.type
        if params.pop("agent", None) is not None:
            # Filed by a member of staff: "by phone with our agent", never the agent's identity.
            kind = f"{event.type}_BY_AGENT"
        if "channel" in params:
            params["channel"] = channels.get(params["channel"], params["channel"])
        if "category" in params:
            params["category"] = taxonomy.category_name(params["category"], case.locale)
        if "department" in params:
            params["department"] = taxonomy.department_name(params["department"], case.locale)
        template = text["timeline"].get(kind) or text["timeline"].get(event.type, event.type)
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
        slaPausedSince=case.sla_paused_at,
        slaPausedSeconds=round(case.sla_paused_seconds + paused_now),
        question=case.question if case.status == Status.AWAITING_CUSTOMER else None,
        relatedTo=case.related_to,
        timeline=timeline,
        messages=[message_view(m) for m in conversation or []],
    )
