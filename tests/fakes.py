"""In-memory stand-ins for the ports of the `complaints` domain, for unit tests.

Each fake keeps the contract of its protocol (complaints.repository.CaseRepository,
complaints.workflow.Workflow, complaints.mail.Mailer) so a test that passes here exercises the same
behaviour the DynamoDB, Step Functions and SES implementations give."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from complaints.errors import CaseNotFound, ConflictError, WorkflowStartFailed
from complaints.mail import Email, MailRejected
from complaints.models import Case, CaseEvent, Status
from complaints.repository import Claim
from complaints.settings import Settings

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:complaints-test-complaint-case"


def make_settings(**overrides: Any) -> Settings:
    """Settings with every field given, so no environment variable of the machine running the tests
    (TIME_SCALE, OPS_EMAIL, ...) leaks in."""
    values: dict[str, Any] = {
        "table_name": "t",
        "public_base_url": "https://api.example",
        "state_machine_arn": STATE_MACHINE_ARN,
        "sender_email": "complaints@example.com",
        "ops_email": "ops@example.com",
        "time_scale": 1.0,
        "max_body_bytes": 64 * 1024,
    }
    values.update(overrides)
    return Settings(**values)


class FakeClock:
    """A clock that stands still until told to move: `clock()` is the time, `clock.advance(s)` moves it."""

    def __init__(self, start: datetime | None = None):
        start = start or datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


class FakeRepository:
    """CaseRepository in memory, with the semantics of DynamoCaseRepository.

    Everything stored or returned is a deep copy, so a caller changing a model it got back changes
    nothing stored (as with a real database)."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.events: dict[str, list[CaseEvent]] = {}
        self.claims: dict[str, Claim] = {}

    # ------------------------------------------------------------ protocol

    def create(self, case: Case, event: CaseEvent, claim: Claim, now: datetime) -> Claim | None:
        earlier = self.claims.get(claim.key)
        if earlier is not None and earlier.expires_at > now:
            return earlier.model_copy(deep=True)
        if case.complaint_id in self.cases:
            raise ConflictError("complaint id in use")
        self.cases[case.complaint_id] = case.model_copy(deep=True)
        self.events[case.complaint_id] = [event.model_copy(deep=True)]
        self.claims[claim.key] = claim.model_copy(deep=True)
        return None

    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        case = self.cases.get(complaint_id)
        if case is None:
            raise CaseNotFound(complaint_id)
        # Stable sort: events recorded at the same instant keep the order they were added in.
        events = sorted(self.events[complaint_id], key=lambda event: event.at)
        return case.model_copy(deep=True), [event.model_copy(deep=True) for event in events]

    def mark_started(self, complaint_id: str, execution_arn: str, event: CaseEvent) -> bool:
        case = self.cases.get(complaint_id)
        if case is None or case.execution_arn is not None:
            return False
        self._update(case, event, execution_arn=execution_arn)
        return True

    def mark_acknowledged(self, complaint_id: str, event: CaseEvent) -> bool:
        case = self.cases.get(complaint_id)
        if case is None or case.acknowledged_at is not None:
            return False
        self._update(case, event, acknowledged_at=event.at, pending_access_code=None)
        return True

    def mark_needs_attention(self, case: Case, reason: str, event: CaseEvent) -> None:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.version != case.version:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")
        self._update(stored, event, status=Status.NEEDS_ATTENTION, attention_reason=reason)

    def unstarted(self, created_before: datetime, limit: int) -> list[str]:
        waiting = sorted(
            (case for case in self.cases.values() if case.execution_arn is None),
            key=lambda case: case.created_at,
        )
        return [case.complaint_id for case in waiting if case.created_at < created_before][:limit]

    # ------------------------------------------------------------ helpers for tests

    def _update(self, case: Case, event: CaseEvent, **changes: Any) -> None:
        self.cases[case.complaint_id] = case.model_copy(
            update={**changes, "updated_at": event.at, "version": case.version + 1}, deep=True
        )
        self.events[case.complaint_id].append(event.model_copy(deep=True))

    def event_types(self, complaint_id: str) -> list[str]:
        return [event.type for event in self.get(complaint_id)[1]]


@dataclass
class FakeWorkflow:
    """Workflow that records every start. With `failing` set, start raises WorkflowStartFailed (as
    StepFunctionsWorkflow does when StartExecution fails) and records nothing."""

    state_machine_arn: str = STATE_MACHINE_ARN
    failing: bool = False
    started: list[str] = field(default_factory=list)
    attempts: int = 0

    def start(self, complaint_id: str) -> str:
        self.attempts += 1
        if self.failing:
            raise WorkflowStartFailed("StartExecution ServiceUnavailable")
        self.started.append(complaint_id)
        return self.arn_for(complaint_id)

    def arn_for(self, complaint_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{complaint_id}"


@dataclass
class FakeMailer:
    """Mailer that keeps what it is given. `reject_to` lists recipients it refuses with MailRejected
    (as SES refuses an unverified or invalid address); `reject_all` refuses everything."""

    sent: list[Email] = field(default_factory=list)
    reject_to: set[str] = field(default_factory=set)
    reject_all: bool = False

    def send(self, email: Email) -> str:
        if self.reject_all or self.reject_to.intersection(email.to):
            raise MailRejected("SES MessageRejected")
        self.sent.append(email)
        return f"message-{len(self.sent)}"

    def to(self, address: str) -> list[Email]:
        return [email for email in self.sent if address in email.to]
