"""Pydantic models: what comes in over the API, what is stored, and what goes out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic_core import core_schema

from complaints.core.conversation import MessageView
from complaints.core.locale import normalise_locale

Channel = Literal["web", "app", "email", "phone", "chat", "api"]


CHANNELS: tuple[str, ...] = ("web", "app", "email", "phone", "chat", "api")


# Who may say how a complaint came in: the public (the form, the app, the JSON API) names its own channel;
# a phone call or a chat is taken by a member of staff, who files it for the customer through the ops route
# (POST /ops/complaints), and the case records who did.
PublicChannel = Literal["web", "app", "email", "api"]


PUBLIC_CHANNELS: tuple[str, ...] = ("web", "app", "email", "api")


StaffChannel = Literal["phone", "chat"]


STAFF_CHANNELS: tuple[str, ...] = ("phone", "chat")


Text = Annotated[str, StringConstraints(strip_whitespace=True)]


RefName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]


RefValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,31}$")


# When the complained-of thing happened: not in the future (5 minutes' clock skew allowed), not over 10 years
# ago (no platform keeps records longer). A time without an offset is read in the calendar's zone later, so
# it gets the widest offsets there are (UTC-12 to UTC+14) on either side.
OCCURRED_SKEW = timedelta(minutes=5)


OCCURRED_HORIZON = timedelta(days=3653)


_WIDEST_OFFSET = timedelta(hours=14)


def _check_locale(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    locale = normalise_locale(value)
    if locale is None:
        raise ValueError("supported locales are en and zh-CN")
    return locale


class _EmailStr(EmailStr):
    """pydantic's EmailStr, the same validation, errors and JSON schema, except that email-validator (and its
    compiled RFC patterns) loads with the first address validated, not when a model naming it is defined:
    only the intake API validates addresses. pydantic's `validate_email` imports it when it first runs."""

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: type[Any], _handler: GetCoreSchemaHandler):
        return core_schema.no_info_after_validator_function(cls._validate, core_schema.str_schema())


class Status(StrEnum):
    RECEIVED = "RECEIVED"
    TRIAGED = "TRIAGED"
    INVESTIGATING = "INVESTIGATING"
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"  # the investigator asked the complainant a question
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    RESOLVING = "RESOLVING"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"
    CLOSED = "CLOSED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    RELATED = "RELATED"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(_In):
    id: Annotated[str, StringConstraints(max_length=128)] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: _EmailStr = Field(max_length=254)
    phone: str | None = None
    locale: Annotated[str | None, AfterValidator(_check_locale)] = None
    tier: Annotated[str, StringConstraints(max_length=32, to_lower=True)] | None = Field(
        default=None, description="Loyalty or VIP tier as the platform knows it (vip, gold, ...)"
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _PHONE.match(value):
            raise ValueError("a phone number has 5 to 32 digits, spaces, brackets or dashes, with optional +")
        return value


class AmountIn(_In):
    value: Decimal = Field(ge=0, le=Decimal("1000000000"), decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(description="ISO 4217 code")

    @field_validator("value", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        # Money travels as a string ("150.00") so no binary float ever rounds it.
        if isinstance(value, float):
            return str(value)
        return value


class _Complaint(_In):
    """What a complaint holds, however it is filed (ComplaintIn, StaffComplaintIn)."""

    customer: CustomerIn
    channel: Channel = "api"
    subject: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    occurredAt: datetime | None = Field(
        default=None,
        description="When it happened: not in the future (5 minutes' skew allowed), not over 10 years ago. "
        "Without an offset, read in the platform's time zone.",
    )
    references: dict[RefName, RefValue] = Field(default_factory=dict, max_length=10)
    amount: AmountIn | None = None
    desiredResolution: Annotated[str, StringConstraints(max_length=1000)] | None = None
    categoryHint: Annotated[str, StringConstraints(max_length=32, to_lower=True)] | None = Field(
        default=None, description="What the caller thinks it is about; triage weighs it, does not obey it"
    )

    @field_validator("occurredAt")
    @classmethod
    def _occurred_in_the_last_ten_years(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        now = datetime.now(UTC)
        slack = _WIDEST_OFFSET if value.tzinfo is None else timedelta(0)
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if moment > now + OCCURRED_SKEW + slack:
            raise ValueError("occurredAt is in the future")
        if moment < now - OCCURRED_HORIZON - slack:
            raise ValueError("occurredAt is over 10 years ago")
        return value


class ComplaintIn(_Complaint):
    """A complaint as the public JSON API and the HTML form submit it: its channel is one the complainant
    uses alone; a phone or chat complaint is filed by staff (StaffComplaintIn)."""

    channel: PublicChannel = "api"

    @field_validator("channel", mode="before")
    @classmethod
    def _not_a_staff_channel(cls, value: Any) -> Any:
        if value in STAFF_CHANNELS:
            raise ValueError(
                "phone and chat complaints are filed by our staff for the customer; "
                "use web, app, email or api"
            )
        return value


class StaffComplaintIn(_Complaint):
    """A complaint a member of staff files for a customer who called or chatted (POST /ops/complaints):
    the channel says which, and the case records the staff member's identity."""

    channel: StaffChannel


class Problem(BaseModel):
    """Why a request was refused (400, 404, 413, 415, 503)."""

    message: str


class FieldError(BaseModel):
    field: str = Field(description='The field, dotted ("customer.email"), or the header or query parameter')
    message: str
    type: str


class InvalidFields(BaseModel):
    """A 422: the fields that are missing or invalid, each named; the values are never echoed."""

    message: str
    errors: list[FieldError]


class Accepted(BaseModel):
    """The answer to an accepted complaint."""

    complaintId: str
    accessCode: str
    status: Status
    statusUrl: str


class TimelineEntry(BaseModel):
    at: datetime
    type: str
    detail: str


class PriorityPoints(BaseModel):
    """One contribution to a case's priority score."""

    reason: str
    detail: str = ""
    points: int


class StatusView(BaseModel):
    """What the complainant (holding the access code) sees of a case."""

    complaintId: str
    status: Status
    category: str | None = None
    confidence: float | None = None
    evidence: list[str] = Field(default_factory=list)
    priority: str | None = None
    priorityBreakdown: list[PriorityPoints] = Field(default_factory=list)
    department: str | None = None
    assignee: str | None = None
    createdAt: datetime
    firstResponseDueAt: datetime | None = None
    resolutionDueAt: datetime | None = None
    responseDueAt: datetime = Field(description="The regulatory final-response deadline: it never pauses")
    slaPausedSince: datetime | None = Field(
        default=None,
        description="Waiting for the complainant's answer since then: the resolution target waits too",
    )
    slaPausedSeconds: float = Field(
        default=0, description="Policy time the resolution target has waited for the complainant so far"
    )
    question: str | None = Field(default=None, description="What we asked the complainant, while we wait")
    relatedTo: str | None = None
    timeline: list[TimelineEntry]
    messages: list[MessageView] = Field(default_factory=list)


class Case(BaseModel):
    """A stored case. Personal data lives here and in nothing that is logged."""

    model_config = ConfigDict(extra="ignore")

    complaint_id: str
    status: Status
    version: int = 1
    created_at: datetime
    updated_at: datetime
    channel: str
    # Who filed it for the customer (a phone call, a chat): the staff member's authenticated identity (on AWS
    # the IAM principal's ARN that signed the request). None when the complainant filed it.
    filed_by: str | None = None
    locale: str
    customer: CustomerIn
    subject: str | None = None
    description: str
    occurred_at: datetime | None = None
    references: dict[str, str] = Field(default_factory=dict)
    amount: AmountIn | None = None
    desired_resolution: str | None = None
    access_code_hash: str
    # The code in clear, kept only until the acknowledgement email (which carries the status link) is sent.
    pending_access_code: str | None = None
    response_due_at: datetime
    # Where the complaint came in (the API's URL with its stage): every link sent about the case points there.
    public_base_url: str | None = None
    category_hint: str | None = None
    category: str | None = None
    confidence: float | None = None
    evidence: list[str] = Field(default_factory=list)
    manual_review: bool = False
    priority: str | None = None
    priority_score: int | None = None
    priority_breakdown: list[PriorityPoints] = Field(default_factory=list)
    department: str | None = None
    assignee: str | None = None
    assignee_name: str | None = None
    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    related_to: str | None = None
    triaged_at: datetime | None = None
    spike_counted_at: datetime | None = None
    related_notified_at: datetime | None = None
    investigation_link_id: str | None = None
    findings: dict[str, Any] | None = None
    approval_link_id: str | None = None
    rejection_comment: str | None = None
    confirm_link_id: str | None = None
    remedy_ref: str | None = None
    remedy_count: int = 0
    remedy_applied_at: datetime | None = None
    reopened: bool = False
    csat_rating: int | None = None
    customer_resolved: str | None = None
    resolution_sent_at: datetime | None = None
    final_response_sent_at: datetime | None = None
    closed_at: datetime | None = None
    execution_arn: str | None = None
    acknowledged_at: datetime | None = None
    # The acknowledgement counted against its address's hourly limit; or withheld, the limit reached.
    ack_counted_at: datetime | None = None
    ack_suppressed_at: datetime | None = None
    attention_reason: str | None = None
    # The status the case had when it needed attention: where a retry resumes.
    attention_from: Status | None = None
    retries: int = 0
    approval_level: str | None = None
    # The conversation with the complainant: how many messages, and when the last came.
    message_count: int = 0
    last_message_at: datetime | None = None
    # A question to the complainant (AWAITING_CUSTOMER): its text, who asked (investigator, lead, head),
    # when, and the token of the Step Functions task that waits for the answer (the complainant's next
    # message, on the status page or by email, answers it). `question_notified` counts the emails sent
    # about it (the question, the reminder), so that a retried step sends none twice.
    question: str | None = None
    question_level: str | None = None
    question_asked_at: datetime | None = None
    question_token: str | None = None
    question_notified: int = 0
    # The two clocks: the resolution target (internal SLA) waits while the complainant is asked
    # (`sla_paused_at`, then moved on by the time waited, counted in `sla_paused_seconds` of policy time);
    # the regulatory `response_due_at` never moves.
    sla_paused_at: datetime | None = None
    sla_paused_seconds: float = 0


class CaseEvent(BaseModel):
    """One line of a case's audit timeline: a type and parameters that hold no personal data.
    The complainant reads it in their language (i18n `timeline.<type>`)."""

    at: datetime
    type: str
    params: dict[str, str] = Field(default_factory=dict)


class CaseSummary(BaseModel):
    """What the customer index (GSI2) holds of a case: enough to spot duplicates and repeats."""

    model_config = ConfigDict(extra="ignore")

    complaint_id: str
    status: Status
    created_at: datetime
    references: dict[str, str] = Field(default_factory=dict)
    description: str = ""
