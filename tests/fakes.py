"""In-memory stand-ins for the ports of the `complaints` domain, for unit tests.

Each fake keeps the contract of its protocol (the ports in each stage's ports.py, core.ports.Workflow,
core.ports.Mailer; tests/contract runs the same cases on each fake and its adapter) so a test that passes
here exercises the same behaviour the DynamoDB, Step Functions and SES implementations give.

Over 400 lines: the repository fakes build on one another (the investigation fake is the triage fake
plus its writes, which is the case fake plus triage's), so they stay in one module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from complaints.core import changes, ids
from complaints.core.conversation import HeldMail, Message
from complaints.core.errors import (
    CaseNotFound,
    ConflictError,
    MailNotFound,
    MailRejected,
    TransientError,
    UploadNotFound,
    WorkflowStartFailed,
)
from complaints.core.models import Case, CaseEvent, CaseSummary, Status
from complaints.core.ports import Email, StoredFile, UploadForm
from complaints.core.settings import Settings
from complaints.core.stats import Tally
from complaints.core.tasks import CustomerAnswer
from complaints.intake.ports import Claim

if TYPE_CHECKING:
    from complaints.triage.ports import Assignment, DuplicateMatch, TriageFields

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
        "local_mailbox_url": "",
        "max_body_bytes": 64 * 1024,
    }
    values.update(overrides)
    return Settings(**values)


class FakeClock:
    """A clock that stands still until told to move: `clock()` is the time, `clock.advance(s)` moves it.

    With `tick`, every reading moves it on by that many seconds, as a real clock does between calls."""

    def __init__(self, start: datetime | None = None, tick: float = 0.0):
        start = start or datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._tick = timedelta(seconds=tick)

    def __call__(self) -> datetime:
        now = self._now
        self._now += self._tick
        return now

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
        self.tallies: list[Tally] = []  # report counters, in the order they were added
        self.mail_counters: dict[tuple[str, str], int] = {}  # (recipient hash, hour) -> acknowledgements
        self.calls: list[str] = []  # the protocol's reads, by name, for tests that count them
        self.conversation: dict[str, dict[str, Message]] = {}  # case -> message key -> message
        self.held: dict[str, HeldMail] = {}
        self.sent_mail: dict[str, str] = {}  # SES message id -> case
        self.evidence_items: dict[str, list[Any]] = {}  # case -> its evidence chain

    # ------------------------------------------------------------ protocol

    def create(
        self, case: Case, event: CaseEvent, claim: Claim, now: datetime, stats: Tally | None = None
    ) -> Claim | None:
        earlier = self.claims.get(claim.key)
        if earlier is not None and earlier.expires_at > now:
            return earlier.model_copy(deep=True)
        if case.complaint_id in self.cases:
            raise ConflictError("complaint id in use")
        self.cases[case.complaint_id] = case.model_copy(deep=True)
        self.events[case.complaint_id] = [event.model_copy(deep=True)]
        self.claims[claim.key] = claim.model_copy(deep=True)
        self._count(stats)
        return None

    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        self.calls.append("get")
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

    def access_code_hash(self, complaint_id: str) -> str | None:
        self.calls.append("access_code_hash")
        case = self.cases.get(complaint_id)
        return None if case is None else case.access_code_hash

    def count_acknowledgement(
        self, complaint_id: str, recipient: str, hour: str, limit: int, at: datetime
    ) -> bool:
        case = self.cases[complaint_id]
        if case.ack_counted_at is not None:
            return True
        if self.mail_counters.get((recipient, hour), 0) >= limit:
            return False
        self.mail_counters[(recipient, hour)] = self.mail_counters.get((recipient, hour), 0) + 1
        self.cases[complaint_id] = case.model_copy(update={"ack_counted_at": at})
        return True

    def mark_ack_withheld(self, complaint_id: str, event: CaseEvent) -> bool:
        case = self.cases.get(complaint_id)
        if case is None or case.acknowledged_at is not None or case.ack_suppressed_at is not None:
            return False
        self._update(case, event, ack_suppressed_at=event.at, pending_access_code=None)
        return True

    def mark_needs_attention(
        self, case: Case, reason: str, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.version != case.version:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")
        came_from = stored.attention_from if stored.status == Status.NEEDS_ATTENTION else stored.status
        self._update(
            stored, event, status=Status.NEEDS_ATTENTION, attention_reason=reason, attention_from=came_from
        )
        self._count(stats)

    def resume(self, case: Case, event: CaseEvent) -> Case:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.version != case.version or stored.status != Status.NEEDS_ATTENTION:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")
        self._update(
            stored,
            event,
            status=stored.attention_from or Status.RECEIVED,
            attention_reason=None,
            attention_from=None,
            retries=stored.retries + 1,
        )
        return self.cases[case.complaint_id].model_copy(deep=True)

    def set_execution(self, complaint_id: str, execution_arn: str) -> None:
        if complaint_id not in self.cases:  # Dynamo's update is conditioned on the case existing
            raise ConflictError(f"no case {complaint_id}")
        self.cases[complaint_id] = self.cases[complaint_id].model_copy(
            update={"execution_arn": execution_arn}
        )

    def unstarted(self, created_before: datetime, limit: int) -> list[str]:
        waiting = sorted(
            (case for case in self.cases.values() if case.execution_arn is None),
            key=lambda case: case.created_at,
        )
        return [case.complaint_id for case in waiting if case.created_at < created_before][:limit]

    # ------------------------------------------------------------ the conversation

    def add_message(
        self, complaint_id: str, message: Message, event: CaseEvent, evidence: list[Any] | None = None
    ) -> bool:
        if message.key in self.conversation.get(complaint_id, {}):
            return False
        case = self.cases.get(complaint_id)
        if case is None:
            raise ConflictError(f"no case {complaint_id}")
        kept = self.evidence_items.setdefault(complaint_id, [])
        if {item.seq for item in kept} & {item.seq for item in evidence or []}:
            raise ConflictError("another write took the chain's next place")
        kept.extend(item.model_copy(deep=True) for item in evidence or [])
        self.conversation.setdefault(complaint_id, {})[message.key] = message.model_copy(deep=True)
        # Counted on the case without a new version, as the DynamoDB adapter does.
        self.cases[complaint_id] = case.model_copy(
            update={
                "message_count": case.message_count + 1,
                "last_message_at": message.at,
                "updated_at": event.at,
            }
        )
        self.events[complaint_id].append(event.model_copy(deep=True))
        return True

    def evidence(self, complaint_id: str) -> list[Any]:
        return [item.model_copy(deep=True) for item in self.evidence_items.get(complaint_id, [])]

    def messages(self, complaint_id: str) -> list[Message]:
        found = self.conversation.get(complaint_id, {}).values()
        return [m.model_copy(deep=True) for m in sorted(found, key=lambda m: (m.at, m.key))]

    def hold_mail(self, mail: HeldMail) -> bool:
        if mail.key in self.held:
            return False
        self.held[mail.key] = mail.model_copy(deep=True)
        return True

    def held_mail(self, limit: int) -> list[HeldMail]:
        newest = sorted(self.held.values(), key=lambda m: (m.at, m.key), reverse=True)
        return [m.model_copy(deep=True) for m in newest[:limit]]

    def remember_sent_mail(self, mail_id: str, complaint_id: str) -> None:
        self.sent_mail[mail_id] = complaint_id

    def case_of_sent_mail(self, mail_id: str) -> str | None:
        return self.sent_mail.get(mail_id)

    # ------------------------------------------------------------ helpers for tests

    def _update(self, case: Case, event: CaseEvent, **changes: Any) -> None:
        self.cases[case.complaint_id] = case.model_copy(
            update={**changes, "updated_at": event.at, "version": case.version + 1}, deep=True
        )
        self.events[case.complaint_id].append(event.model_copy(deep=True))

    def _count(self, stats: Tally | None) -> None:
        if stats is not None:
            self.tallies.append(stats)

    def counted(self) -> dict[str, Any]:
        """Every report counter added so far, summed over days and shards."""
        totals: dict[str, Any] = {}
        for tally in self.tallies:
            for name, value in tally.counters.items():
                totals[name] = totals.get(name, 0) + value
        return totals

    def event_types(self, complaint_id: str) -> list[str]:
        return [event.type for event in self.get(complaint_id)[1]]


class FakeTriageRepository(FakeRepository):
    """TriageRepository in memory, with the semantics of DynamoTriageRepository.

    Roster counters, spike counters and spike alert claims are kept as the table keeps them (one
    item per department and investigator, per category and hour). Writes are all-or-nothing: a
    failed condition raises ConflictError (or returns False / None where Dynamo's caller does) and
    changes nothing.

    To test retries, `inject_conflicts(n)` makes the next n mark_triaged calls fail with
    ConflictError as if another writer had got in first, and `before_next_mark_triaged(write)` runs
    `write()` (a real concurrent change, such as `assign_elsewhere`) just before the next
    mark_triaged checks its conditions."""

    def __init__(self) -> None:
        super().__init__()
        # (department, investigator id) -> {"open_cases": int, "last_assigned_at": ISO str}
        self.roster: dict[tuple[str, str], dict[str, Any]] = {}
        # (category, hour) -> {"complaints": int, "examples": [ids]}, either attribute optional
        self.spike_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.spike_alerts: dict[tuple[str, str], dict] = {}
        self.related_reasons: dict[str, str] = {}
        self.mark_triaged_calls = 0
        self._injected_conflicts = 0
        self._concurrent_writes: list[Callable[[], None]] = []

    # ------------------------------------------------------------ protocol

    def recent_for_customer(self, customer_key: str, since: datetime, limit: int) -> list[CaseSummary]:
        mine = [
            case
            for case in self.cases.values()
            if ids.customer_key(case.customer.email) == customer_key and case.created_at >= since
        ]
        mine.sort(key=lambda case: case.created_at, reverse=True)  # ScanIndexForward=False
        return [
            CaseSummary(
                complaint_id=case.complaint_id,
                status=case.status,
                created_at=case.created_at,
                references=dict(case.references),
                description=case.description,
            )
            for case in mine[:limit]
        ]

    def investigator_loads(self, department: str) -> dict[str, tuple[int, str]]:
        return {
            investigator: (int(item.get("open_cases", 0)), item.get("last_assigned_at", ""))
            for (dept, investigator), item in self.roster.items()
            if dept == department
        }

    def mark_triaged(
        self,
        case: Case,
        fields: TriageFields,
        assignment: Assignment,
        event: CaseEvent,
        stats: Tally | None = None,
    ) -> None:
        self.mark_triaged_calls += 1
        if self._concurrent_writes:
            self._concurrent_writes.pop(0)()
        if self._injected_conflicts:
            self._injected_conflicts -= 1
            raise ConflictError("the case or a counter changed")
        stored = self._received_at_version(case)
        key = (assignment.department, assignment.investigator.id)
        counter = self.roster.get(key)
        if assignment.expected_open is None:
            if counter is not None:
                raise ConflictError("the case or a counter changed")
        elif counter is None or counter.get("open_cases") != assignment.expected_open:
            raise ConflictError("the case or a counter changed")
        c, p = fields.classification, fields.priority
        self._update(
            stored,
            event,
            status=Status.TRIAGED,
            category=c.category,
            confidence=round(c.confidence, 4),
            evidence=list(c.evidence),
            manual_review=c.manual_review,
            priority=p.priority,
            priority_score=p.score,
            priority_breakdown=[b.model_copy() for b in p.breakdown],
            department=fields.department,
            assignee=fields.investigator.id,
            assignee_name=fields.investigator.name,
            first_response_due_at=fields.first_response_due,
            resolution_due_at=fields.resolution_due,
            response_due_at=fields.response_due,
            triaged_at=event.at,
        )
        item = self.roster.setdefault(key, {})
        item["open_cases"] = int(item.get("open_cases", 0)) + 1
        item["last_assigned_at"] = event.at.isoformat()
        self._count(stats)

    def mark_related(
        self, case: Case, match: DuplicateMatch, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        stored = self._received_at_version(case)
        self._update(stored, event, status=Status.RELATED, related_to=match.complaint_id)
        self._count(stats)
        self.related_reasons[case.complaint_id] = f"{match.reason}: {match.detail}"

    def mark_related_notified(self, complaint_id: str, at: datetime) -> bool:
        stored = self.cases.get(complaint_id)
        if stored is None or stored.related_notified_at is not None:
            return False
        # A plain update in Dynamo: no version bump, no event.
        self.cases[complaint_id] = stored.model_copy(update={"related_notified_at": at}, deep=True)
        return True

    def count_for_spikes(self, case: Case, hour: str, at: datetime) -> int | None:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.spike_counted_at is not None:
            return None
        self.cases[case.complaint_id] = stored.model_copy(update={"spike_counted_at": at}, deep=True)
        item = self.spike_items.setdefault((case.category or "other", hour), {})
        item["complaints"] = int(item.get("complaints", 0)) + 1
        return item["complaints"]

    def hour_counts(self, category: str, hours: list[str]) -> dict[str, int]:
        return {
            hour: int(self.spike_items[(category, hour)].get("complaints", 0))
            for hour in hours
            if (category, hour) in self.spike_items
        }

    def add_spike_example(self, category: str, hour: str, complaint_id: str, limit: int) -> None:
        item = self.spike_items.setdefault((category, hour), {})
        examples = item.get("examples")
        if examples is None or len(examples) < limit:  # as the condition on the Dynamo update
            item["examples"] = [*(examples or []), complaint_id]

    def spike_examples(self, category: str, hour: str) -> list[str]:
        return list(self.spike_items.get((category, hour), {}).get("examples", []))

    def claim_spike_alert(self, category: str, hour: str, complaint_id: str, at: datetime) -> bool:
        claim = self.spike_alerts.get((category, hour))
        if claim is not None and (claim["by"] != complaint_id or claim["sent"] is not None):
            return False
        self.spike_alerts[(category, hour)] = {"by": complaint_id, "at": at, "sent": None}
        return True

    def mark_spike_alert_sent(self, category: str, hour: str, at: datetime) -> None:
        # An unconditional update in Dynamo: with no claim, it makes an item that no complaint can claim.
        claim = self.spike_alerts.setdefault((category, hour), {"by": None, "at": None, "sent": None})
        claim["sent"] = at

    # ------------------------------------------------------------ helpers for tests

    def _received_at_version(self, case: Case) -> Case:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.version != case.version or stored.status != Status.RECEIVED:
            raise ConflictError("the case or a counter changed")
        return stored

    def inject_conflicts(self, count: int = 1) -> None:
        """The next `count` mark_triaged calls fail with ConflictError and change nothing."""
        self._injected_conflicts += count

    def before_next_mark_triaged(self, write: Callable[[], None]) -> None:
        """Run `write` (another writer's change) just before the next mark_triaged checks its conditions."""
        self._concurrent_writes.append(write)

    def assign_elsewhere(self, department: str, investigator_id: str, at: datetime) -> None:
        """Count one more open case for an investigator, as a concurrent triage of another case does."""
        item = self.roster.setdefault((department, investigator_id), {})
        item["open_cases"] = int(item.get("open_cases", 0)) + 1
        item["last_assigned_at"] = at.isoformat()

    def open_cases(self, department: str) -> dict[str, int]:
        return {inv: load for inv, (load, _) in self.investigator_loads(department).items()}

    def set_hour_count(self, category: str, hour: str, complaints: int) -> None:
        """Seed a spike counter, as earlier hours' complaints left it."""
        self.spike_items.setdefault((category, hour), {})["complaints"] = complaints


@dataclass
class FakeWorkflow:
    """Workflow that records every start. With `failing` set, start raises WorkflowStartFailed (as
    StepFunctionsWorkflow does when StartExecution fails) and records nothing.

    `resume` records each retry's execution as StepFunctionsWorkflow names it (`<id>-retry-<n>`) with
    the input it would get; `running` answers from `still_running` (ARNs a test says have not ended)."""

    state_machine_arn: str = STATE_MACHINE_ARN
    failing: bool = False
    started: list[str] = field(default_factory=list)
    attempts: int = 0
    resumed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, input)
    still_running: set[str] = field(default_factory=set)

    def start(self, complaint_id: str) -> str:
        self.attempts += 1
        if self.failing:
            raise WorkflowStartFailed("StartExecution ServiceUnavailable")
        self.started.append(complaint_id)
        return self.arn_for(complaint_id)

    def resume(self, complaint_id: str, attempt: int, status: str) -> str:
        if self.failing:
            raise WorkflowStartFailed("StartExecution ServiceUnavailable")
        name = f"{complaint_id}-retry-{attempt}"
        if name not in [started for started, _ in self.resumed]:  # the same attempt starts nothing twice
            self.resumed.append((name, {"complaintId": complaint_id, "resumeAt": status}))
        return self.arn_for(name)

    def running(self, execution_arn: str) -> bool:
        return execution_arn in self.still_running

    def arn_for(self, complaint_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{complaint_id}"


@dataclass
class FakeMailStore:
    """MailStore in memory: raw emails by SES message id, as S3MailStore reads them."""

    bucket: str = "inbound-mail"
    prefix: str = "inbound/"
    mail: dict[str, bytes] = field(default_factory=dict)

    def read(self, mail_id: str) -> bytes:
        if not mail_id or "/" in mail_id or mail_id not in self.mail:
            raise MailNotFound(mail_id)
        return self.mail[mail_id]

    def location(self, mail_id: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{mail_id}"


@dataclass
class FakeFileStore:
    """FileStore in memory: `forms` records each form signed; a test 'posts' a file by `put` (as S3 would
    take it, within the form's limits, or not: the service checks again)."""

    bucket: str = "attachments"
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # key -> (bytes, content type)
    forms: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def upload_form(
        self,
        prefix: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        redirect: str | None,
        filename: str | None = None,
    ) -> UploadForm:
        key = prefix + (filename or "${filename}")
        self.forms.append(
            {"key": key, "type": content_type, "max": max_bytes, "expires": expires_in, "redirect": redirect}
        )
        fields = {"key": key, "Content-Type": content_type}
        return UploadForm(f"https://{self.bucket}.s3.amazonaws.com/", fields, datetime.now(UTC))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def stat(self, key: str) -> StoredFile | None:
        if key not in self.objects:
            return None
        data, content_type = self.objects[key]
        return StoredFile(key=key, size=len(data), content_type=content_type)

    def read(self, key: str) -> bytes:
        if key not in self.objects:
            raise UploadNotFound(key)
        return self.objects[key][0]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.deleted.append(key)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def download_url(self, location: str, filename: str, expires_in: int) -> str:
        return f"https://download.example/{location.removeprefix('s3://')}?expires={expires_in}"


@dataclass
class FakeMailer:
    """Mailer that keeps what it is given. `reject_to` lists recipients it refuses with MailRejected
    (as SES refuses an unverified or invalid address); `reject_all` refuses everything;
    `throttle_next` makes that many next sends fail with TransientError (as SES throttling does)."""

    sent: list[Email] = field(default_factory=list)
    reject_to: set[str] = field(default_factory=set)
    reject_all: bool = False
    throttle_next: int = 0

    def send(self, email: Email) -> str:
        if self.throttle_next:
            self.throttle_next -= 1
            raise TransientError("SES TooManyRequestsException")
        if self.reject_all or self.reject_to.intersection(email.to):
            raise MailRejected("SES MessageRejected")
        self.sent.append(email)
        return f"message-{len(self.sent)}"

    def to(self, address: str) -> list[Email]:
        return [email for email in self.sent if address in email.to]


class FakeInvestigationRepository(FakeTriageRepository):
    """InvestigationRepository and ResolutionRepository in memory, with the semantics of
    DynamoInvestigationRepository: evidence items, task links (one open link per kind on the case,
    named by changes.LINK_FIELD), version-checked findings and decisions, the archive and the roster
    release. Writes are all-or-nothing: a failed condition raises ConflictError and changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, Any] = {}
        # complaint id -> {"case": Case, "archivedAt": datetime, "ttl": int (epoch seconds)}
        self.archives: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.fail_close = 0  # the next close_case calls that fail (throttled), before any change

    # ------------------------------------------------------------ protocol

    def start_investigation(self, case: Case, items: list[Any], event: CaseEvent) -> bool:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.status != Status.TRIAGED:
            return False
        kept = self.evidence_items.setdefault(case.complaint_id, [])
        if {item.seq for item in kept} & {item.seq for item in items[:90]}:
            raise TransientError("another write took the evidence chain's next place")
        kept.extend(item.model_copy(deep=True) for item in items[:90])
        self._update(stored, event, status=Status.INVESTIGATING)
        return True

    def put_link(
        self, link: Any, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        stored = self.cases.get(link.complaint_id)
        if stored is None or link.link_id in self.links or (supersede and supersede not in self.links):
            raise ConflictError("the case or the link changed")
        self.links[link.link_id] = link.model_copy(deep=True)
        # No version bump: Dynamo's put_link only sets the link attribute and updated_at.
        update: dict[str, Any] = {changes.LINK_FIELD[link.kind]: link.link_id, "updated_at": event.at}
        if link.kind == "approve":
            update["approval_level"] = link.level
        self.cases[link.complaint_id] = stored.model_copy(update=update, deep=True)
        self._count(stats)
        self.events[link.complaint_id].append(event.model_copy(deep=True))
        if supersede:
            from complaints.core.tasks import LinkStatus

            self.links[supersede] = self.links[supersede].model_copy(
                update={"status": LinkStatus.SUPERSEDED, "held_by": link.recipient_name}
            )

    def rebind_link(self, link_id: str, token: str, expires_at: datetime, event: CaseEvent) -> None:
        link = self.links.get(link_id)
        assert link is not None
        update = {"token": token, "expires_at": expires_at, "reminded": True, "notified_at": None}
        self.links[link_id] = link.model_copy(update=update)
        self.events[link.complaint_id].append(event.model_copy(deep=True))

    def mark_notified(self, link_id: str, at: datetime) -> None:
        if link_id not in self.links:
            raise ConflictError(f"no link {link_id}")
        self.links[link_id] = self.links[link_id].model_copy(update={"notified_at": at})

    def get_link(self, link_id: str) -> Any:
        link = self.links.get(link_id)
        return link.model_copy(deep=True) if link is not None else None

    def complete_link(self, link_id: str, at: datetime, answer: dict[str, Any]) -> bool:
        from complaints.core.tasks import LinkStatus

        link = self.links.get(link_id)
        if link is None or link.status != LinkStatus.OPEN:
            return False
        update = {"status": LinkStatus.DONE, "decided_at": at, "answer": answer}
        self.links[link_id] = link.model_copy(update=update, deep=True)
        return True

    def keep_answer(self, link_id: str) -> None:
        if link_id not in self.links:
            raise ConflictError(f"no link {link_id}")
        self.links[link_id] = self.links[link_id].model_copy(update={"kept": True})

    def hand_on(self, link_id: str, event: CaseEvent) -> None:
        link = self.links[link_id]
        if not link.kept:
            raise ConflictError(f"{link_id} holds no kept answer")
        self.links[link_id] = link.model_copy(update={"kept": False})
        self.events[link.complaint_id].append(event.model_copy(deep=True))

    def record_findings(self, case: Case, findings: Any, status: Status, event: CaseEvent) -> None:
        stored = self._at_version(case)
        self._update(stored, event, findings=findings.model_dump(mode="json"), status=status)

    def ask_customer(self, case: Case, values: dict[str, Any], event: CaseEvent, message: Message) -> None:
        stored = self._at_version(case)
        if message.key in self.conversation.get(case.complaint_id, {}):
            raise ConflictError(f"message {message.key} exists")
        counted = {"message_count": stored.message_count + 1, "last_message_at": message.at}
        self._update_case(case, values | counted, event)
        self.conversation.setdefault(case.complaint_id, {})[message.key] = message.model_copy(deep=True)

    def wait_for_answer(self, case: Case, values: dict[str, Any], event: CaseEvent | None) -> None:
        self._update_case(case, values, event)

    def resume_investigation(
        self, case: Case, values: dict[str, Any], event: CaseEvent, stats: Tally | None = None
    ) -> None:
        self._update_case(case, values, event)
        self._count(stats)

    def approve(self, case: Case, event: CaseEvent) -> None:
        self._update_case(case, changes.approved(), event)  # no ops watch list to leave

    def reject(self, case: Case, comment: str, event: CaseEvent) -> None:
        self._update_case(case, changes.rejected(comment), event)

    def record_remedy(self, case: Case, reference: str, event: CaseEvent) -> None:
        self._update_case(case, changes.remedy_applied(case, reference, event.at), event)

    def await_confirmation(self, case: Case, at: datetime) -> None:
        self._update_case(case, changes.awaiting_confirmation(at), None, at=at)

    def record_customer_answer(self, case: Case, answer: CustomerAnswer | None, event: CaseEvent) -> None:
        self._update_case(case, changes.answered(answer), event)

    def reopen(self, case: Case, answer: CustomerAnswer, event: CaseEvent) -> None:
        self._update_case(case, changes.reopened(answer), event)

    def record_final_response(self, case: Case, event: CaseEvent) -> None:
        self._update_case(case, changes.final_response_sent(event.at), event)

    def _update_case(
        self, case: Case, values: dict[str, Any], event: CaseEvent | None, at: datetime | None = None
    ) -> None:
        stored = self._at_version(case)
        when = event.at if event else at or datetime.now(UTC)
        # Through the model, as a stored item is read back: "CLOSED" becomes Status.CLOSED.
        item = {**stored.model_dump(), **values, "updated_at": when, "version": stored.version + 1}
        self.cases[case.complaint_id] = Case.model_validate(item)
        if event is not None:
            self.events[case.complaint_id].append(event.model_copy(deep=True))

    def close_case(self, case: Case, event: CaseEvent, stats: Tally | None, archive_until: datetime) -> None:
        """All or nothing, as the DynamoDB transaction: `fail_close` makes the next one fail first."""
        if self.fail_close:
            self.fail_close -= 1
            raise TransientError("DynamoDB ProvisionedThroughputExceededException")
        stored = self._at_version(case)
        closed = Case.model_validate(
            {
                **stored.model_dump(),
                "status": "CLOSED",
                "closed_at": event.at,
                "updated_at": event.at,
                "version": stored.version + 1,
            }
        )
        self.cases[case.complaint_id] = closed
        self.events[case.complaint_id].append(event.model_copy(deep=True))
        self._count(stats)
        self.archives[case.complaint_id] = {
            "case": closed.model_copy(deep=True),
            "archivedAt": event.at,
            "ttl": int(archive_until.timestamp()),
        }
        item = self.roster.get((case.department, case.assignee))
        if item is not None and int(item.get("open_cases", 0)) > 0:
            item["open_cases"] = int(item["open_cases"]) - 1

    def record(self, reference: str) -> dict[str, Any] | None:
        found = self.records.get(reference)
        if found is None:
            return None
        # DynamoDB gives numbers back as Decimals, which the adapter gives as text.
        return {
            k: str(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else v
            for k, v in found.items()
        }

    # ------------------------------------------------------------ helpers for tests

    def _at_version(self, case: Case) -> Case:
        stored = self.cases.get(case.complaint_id)
        if stored is None or stored.version != case.version:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")
        return stored


@dataclass
class FakeCallbacks:
    """Callbacks (Step Functions SendTaskSuccess) that records every answer. Tokens in `gone` raise
    TaskGone, as Step Functions does for a task that timed out or was answered already; `unreachable`
    makes every call raise CallbackFailed."""

    succeeded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    unreachable: bool = False  # every call fails as a throttled or failing Step Functions does

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        from complaints.core.errors import CallbackFailed, TaskGone

        if self.unreachable:
            raise CallbackFailed("ThrottlingException")
        if token in self.gone:
            raise TaskGone(token)
        self.succeeded.append((token, output))

    def forget(self, token: str) -> None:
        """The task waiting on `token` is gone (timed out)."""
        self.gone.add(token)


@dataclass
class FakeLedger:
    """LedgerAdapter in memory: pays once per (complaint id, remedy id) and returns the same reference
    for a repeat. With `unavailable` set, pay raises LedgerUnavailable and records nothing."""

    payments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str, Any, str]] = field(default_factory=list)
    unavailable: bool = False

    def pay(self, complaint_id: str, remedy_id: str, remedy: str, amount: Any, currency: str) -> str:
        from complaints.core.errors import LedgerUnavailable

        self.calls.append((complaint_id, remedy_id, remedy, amount, currency))
        if self.unavailable:
            raise LedgerUnavailable("ServiceUnavailable")
        key = (complaint_id, remedy_id)
        if key not in self.payments:
            self.payments[key] = {
                "reference": f"PAY-{remedy_id}",
                "remedy": remedy,
                "amount": amount,
                "currency": currency,
            }
        return self.payments[key]["reference"]
