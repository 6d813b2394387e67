"""What ops people see (OpsQueries) on moto, with cases written by the repositories and services that
production uses: work queues with SLA countdowns, approvals, attention, alerts and the report.

Over 400 lines: every ops read on one moto table and the cases written into it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from complaints import wiring
from complaints.adapters.dynamo.base import stats_update
from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.adapters.ops import OpsQueries
from complaints.adapters.stepfunctions import StepFunctionsWorkflow
from complaints.approval.service import ApprovalService
from complaints.classification.taxonomy import Classification
from complaints.core import stats
from complaints.core.calendar import load_policy
from complaints.core.errors import TransientError
from complaints.core.models import CaseEvent, Status
from complaints.core.rules import load_triage_policy
from complaints.core.tasks import Findings
from complaints.resolution.service import ResolutionService
from complaints.supervision.casework import Casework
from complaints.tasklinks.links import open_link
from complaints.triage.ports import Assignment, TriageFields
from complaints.triage.rules import PriorityResult
from infra import moto_hooks
from tests.fakes import make_settings
from tests.integration.conftest import Aws
from tests.support.cases import store_case

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ZONE = load_policy().calendar.timezone  # Asia/Shanghai: due times are stored in it, as triage sets them
ROSTER = load_triage_policy().roster
HOUR = timedelta(hours=1)


class Clock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ops(aws: Aws, time_scale: float = 1, now: datetime = NOW) -> OpsQueries:
    machine = {"state_machine_arn": aws.state_machine_arn}
    return wiring.ops_queries(settings(time_scale, **machine), aws=aws, clock=Clock(now))


def repository(aws: Aws) -> DynamoInvestigationRepository:
    return DynamoInvestigationRepository(aws.table)


def settings(time_scale: float = 1, **more: str):
    return make_settings(
        table_name="CasesTable",
        ledger_table="LedgerTable",
        time_scale=time_scale,
        public_base_url="https://api.example",
        **more,
    )


def triaged(
    aws: Aws,
    name: str,
    department: str,
    priority: str,
    due: datetime,
    created: datetime | None = None,
    category: str = "payments",
) -> str:
    """A case stored and triaged through the repository, as TriageService does: `due` is the resolution
    target, kept in the policy's time zone like the SLA clocks triage sets."""
    repo = repository(aws)
    created = created or NOW - 2 * HOUR
    complaint_id = f"CMP-20261120-{name}"
    case = store_case(
        repo, complaint_id, created, f"{name.lower()}@example.com", f"Complaint {name}", channel="web"
    )
    person = ROSTER[department].investigators[0]
    loads = repo.investigator_loads(department)
    expected = loads[person.id][0] if person.id in loads else None
    zone = ZoneInfo(ZONE)
    fields = TriageFields(
        classification=Classification(category=category, confidence=0.9, source="test"),
        priority=PriorityResult(priority, 0, []),
        department=department,
        investigator=person,
        first_response_due=(created + HOUR).astimezone(zone),
        resolution_due=due.astimezone(zone),
        response_due=(created + timedelta(weeks=8)).astimezone(zone),
    )
    repo.mark_triaged(
        case,
        fields,
        Assignment(department, person, expected),
        CaseEvent(at=created, type="TRIAGED"),
        stats.tally(
            created, ZONE, complaint_id, {**stats.received("web"), **stats.triaged(category, priority)}
        ),
    )
    return complaint_id


def ids(entries) -> list[str]:
    return [entry.complaintId.removeprefix("CMP-20261120-") for entry in entries]


# ------------------------------------------------------------------ queues


@pytest.fixture
def queued(aws: Aws) -> Aws:
    """Finance: F1 P2 overdue 1 h, F2 P1 due in 1 h, F3 P2 due in 3 h, F4 P3 overdue 30 min,
    F5 P2 overdue 10 h. Technical support: T1 P3 due in 5 h, T2 P4 overdue 2 days."""
    triaged(aws, "F1", "finance", "P2", NOW - HOUR)
    triaged(aws, "F2", "finance", "P1", NOW + HOUR)
    triaged(aws, "F3", "finance", "P2", NOW + 3 * HOUR)
    triaged(aws, "F4", "finance", "P3", NOW - HOUR / 2)
    triaged(aws, "F5", "finance", "P2", NOW - 10 * HOUR, created=NOW - 30 * HOUR)
    triaged(aws, "T1", "technical-support", "P3", NOW + 5 * HOUR, category="technical")
    triaged(aws, "T2", "technical-support", "P4", NOW - 48 * HOUR, NOW - 72 * HOUR, category="technical")
    return aws


def test_the_queue_lists_open_cases_by_department_priority_then_due_time(queued: Aws):
    queue = ops(queued).queue()

    assert ids(queue) == ["F2", "F5", "F1", "F3", "F4", "T1", "T2"]
    assert [e.department for e in queue] == ["finance"] * 5 + ["technical-support"] * 2
    first = queue[0]
    assert first.priority == "P1"
    assert first.category == "payments"
    assert first.status == "TRIAGED"
    assert first.assignee == ROSTER["finance"].investigators[0].name
    assert first.resolutionDueAt == NOW + HOUR
    assert first.createdAt == NOW - 2 * HOUR


def test_the_queue_counts_down_and_marks_what_is_overdue(queued: Aws):
    queue = {e.complaintId.removeprefix("CMP-20261120-"): e for e in ops(queued).queue()}

    assert {name: e.secondsLeft for name, e in queue.items()} == {
        "F1": -3600,
        "F2": 3600,
        "F3": 3 * 3600,
        "F4": -1800,
        "F5": -10 * 3600,
        "T1": 5 * 3600,
        "T2": -48 * 3600,
    }
    assert sorted(name for name, e in queue.items() if e.overdue) == ["F1", "F4", "F5", "T2"]


def test_the_queue_of_one_department_or_one_priority(queued: Aws):
    queries = ops(queued)

    assert ids(queries.queue(department="technical-support")) == ["T1", "T2"]
    assert ids(queries.queue(priority="P2")) == ["F5", "F1", "F3"]
    assert ids(queries.queue(department="finance", priority="P3")) == ["F4"]
    assert queries.queue(department="risk-control") == []


def test_the_limit_applies_per_department(queued: Aws):
    assert ids(ops(queued).queue(limit=2)) == ["F2", "F5", "T1", "T2"]
    assert ids(ops(queued).queue(department="finance", limit=3)) == ["F2", "F5", "F1"]


def test_overdue_lists_exactly_the_overdue_cases_at_time_scale_1(queued: Aws):
    queries = ops(queued)

    # F4 is 30 minutes late: its due time, 19:30 in Shanghai, must compare as the instant it is.
    assert ids(queries.queue(overdue=True)) == ["F5", "F1", "F4", "T2"]
    assert all(e.overdue and e.secondsLeft < 0 for e in queries.queue(overdue=True))
    assert ids(queries.queue(department="finance", priority="P2", overdue=True)) == ["F5", "F1"]
    # A minute later than F2's due time, it is overdue too.
    later = ops(queued, now=NOW + HOUR + timedelta(minutes=1))
    assert ids(later.queue(department="finance", overdue=True)) == ["F2", "F5", "F1", "F4"]


def test_overdue_at_time_scale_3600_counts_policy_time(aws: Aws):
    # One real second is one policy hour: a case given 4 hours is overdue once 4 real seconds have passed.
    second = timedelta(seconds=1)
    triaged(aws, "S1", "finance", "P2", NOW - 2 * second + 4 * HOUR, created=NOW - 2 * second)
    triaged(aws, "S2", "finance", "P2", NOW - 5 * second + 4 * HOUR, created=NOW - 5 * second)
    # Created three real days ago with five days to go in real time: long overdue in policy time.
    triaged(aws, "S3", "finance", "P3", NOW + 2 * 24 * HOUR, created=NOW - 3 * 24 * HOUR)
    triaged(aws, "S4", "finance", "P1", NOW + 24 * HOUR, created=NOW - 10 * second)
    queries = ops(aws, time_scale=3600)

    queue = {e.complaintId.removeprefix("CMP-20261120-"): e for e in queries.queue()}
    assert queue["S1"].secondsLeft == 4 * 3600 - 2 * 3600
    assert queue["S2"].secondsLeft == 4 * 3600 - 5 * 3600
    assert queue["S4"].secondsLeft == 24 * 3600 + 10 - 10 * 3600
    assert ids(queries.queue(overdue=True)) == ["S2", "S3"]
    # At time scale 1 the same cases are all on time.
    assert ops(aws).queue(overdue=True) == []


def resolution(aws: Aws) -> ResolutionService:
    return wiring.resolution_service(settings(), key=b"key", aws=aws, clock=Clock(NOW))


def test_a_closed_case_leaves_the_queue(queued: Aws):
    repo = repository(queued)
    service = resolution(queued)

    assert service.close("CMP-20261120-F1").model_dump() == {
        "complaintId": "CMP-20261120-F1",
        "status": "CLOSED",
    }
    case, _ = repo.get("CMP-20261120-F5")
    repo.close_case(case, CaseEvent(at=NOW, type="CLOSED"), None, NOW + timedelta(days=2000))

    assert ids(ops(queued).queue()) == ["F2", "F3", "F4", "T1", "T2"]
    assert ids(ops(queued).queue(overdue=True)) == ["F4", "T2"]
    assert "gsi3pk" not in queued.case("CMP-20261120-F1")


def test_closing_is_one_transaction_a_refused_one_changes_nothing_and_the_retry_does_it_all(queued: Aws):
    """It was three writes: a step that failed after the first was retried, found the case CLOSED and
    returned, so the archive and the investigator's release never happened."""
    repo, service = repository(queued), resolution(queued)
    person = ROSTER["finance"].investigators[0]
    complaint_id = "CMP-20261120-F1"
    open_before = repo.investigator_loads("finance")[person.id][0]
    archive_key = {"pk": f"ARCHIVE#{complaint_id}", "sk": "ARCHIVE"}

    moto_hooks.inject_fault("TransactWriteItems", "TransactionConflict")
    try:
        with pytest.raises(TransientError):
            service.close(complaint_id)
    finally:
        moto_hooks.clear_faults()
    assert queued.case(complaint_id)["status"] == "TRIAGED"
    assert "Item" not in queued.table.get_item(Key=archive_key)
    assert repo.investigator_loads("finance")[person.id][0] == open_before

    assert service.close(complaint_id).model_dump() == {"complaintId": complaint_id, "status": "CLOSED"}
    stored = queued.case(complaint_id)
    assert stored["status"] == "CLOSED" and "gsi3pk" not in stored and "gsi4pk" not in stored
    archived = queued.table.get_item(Key=archive_key)["Item"]
    assert archived["case"]["status"] == "CLOSED" and archived["case"]["complaint_id"] == complaint_id
    assert archived["ttl"] > int(NOW.timestamp()) + 364 * 86400
    assert repo.investigator_loads("finance")[person.id][0] == open_before - 1


def test_unknown_department_or_priority_is_a_value_error(aws: Aws):
    with pytest.raises(ValueError, match="no department 'billing'"):
        ops(aws).queue(department="billing")
    with pytest.raises(ValueError, match="priority is one of"):
        ops(aws).queue(priority="P5")
    with pytest.raises(ValueError):
        ops(aws).executions(status="DONE")


# ------------------------------------------------------------------ approvals, attention, alerts


def casework(aws: Aws, clock: Clock) -> Casework:
    return wiring.casework(settings(), aws=aws, clock=clock)


def approval(aws: Aws, clock: Clock) -> ApprovalService:
    return wiring.approval_service(settings(), key=b"key", aws=aws, clock=clock)


def awaiting_approval(aws: Aws, name: str, asked: datetime, level: str = "supervisor") -> str:
    """A triaged case whose findings need approval, with the approval link sent to `level`."""
    complaint_id = triaged(aws, name, "finance", "P2", NOW + 48 * HOUR)
    repo = repository(aws)
    case, _ = repo.get(complaint_id)
    findings = Findings(
        summary="Paid out twice by the bank",
        remedy="refund",
        amount=Decimal("5000.00"),
        currency="CNY",
        customerMessage="We refund you.",
    )
    repo.record_findings(
        case, findings, Status.AWAITING_APPROVAL, CaseEvent(at=asked, type="FINDINGS_RECORDED")
    )
    ask(aws, complaint_id, level, asked)
    return complaint_id


def ask(aws: Aws, complaint_id: str, level: str, at: datetime) -> None:
    repo = repository(aws)
    case, _ = repo.get(complaint_id)
    person = ROSTER["finance"].approvers[level]
    link = open_link(complaint_id, "approve", level, person, f"token-{level}", at, 3600)
    repo.put_link(link, case.approval_link_id, CaseEvent(at=at, type="APPROVAL_REQUESTED"))


def test_pending_approvals_show_level_and_age_longest_waiting_first(aws: Aws):
    early = awaiting_approval(aws, "A1", NOW - 5 * HOUR)
    late = awaiting_approval(aws, "A2", NOW - 2 * HOUR, level="manager")

    pending = ops(aws).approvals()

    assert [(p.complaintId, p.level, p.ageSeconds) for p in pending] == [
        (early, "supervisor", 5 * 3600),
        (late, "manager", 2 * 3600),
    ]
    assert pending[0].since == NOW - 5 * HOUR
    assert pending[0].department == "finance"
    assert pending[0].priority == "P2"
    assert ops(aws, time_scale=3600).approvals()[1].ageSeconds == 2 * 3600 * 3600


def test_an_escalated_approval_keeps_its_age_and_shows_the_new_level(aws: Aws):
    complaint_id = awaiting_approval(aws, "A3", NOW - 5 * HOUR)
    ask(aws, complaint_id, "manager", NOW - HOUR)  # the supervisor did not answer in time

    (pending,) = ops(aws).approvals()

    assert pending.level == "manager"
    assert pending.since == NOW - 5 * HOUR
    assert pending.ageSeconds == 5 * 3600


def test_a_decided_approval_leaves_the_list(aws: Aws):
    approved = awaiting_approval(aws, "A4", NOW - 3 * HOUR)
    rejected = awaiting_approval(aws, "A5", NOW - 2 * HOUR)
    waiting = awaiting_approval(aws, "A6", NOW - HOUR)
    service = approval(aws, Clock(NOW))

    service.record_decision(approved, {"decision": "approve"})
    service.record_decision(rejected, {"decision": "reject", "comment": "Check the bank statement"})

    assert [p.complaintId for p in ops(aws).approvals()] == [waiting]
    assert repository(aws).get(approved)[0].status == Status.RESOLVING


def test_the_longest_waiting_approvals_are_kept_when_the_list_is_cut(aws: Aws):
    oldest = awaiting_approval(aws, "A7", NOW - 9 * HOUR)
    older = awaiting_approval(aws, "A8", NOW - 8 * HOUR)
    awaiting_approval(aws, "A9", NOW - HOUR)

    assert [p.complaintId for p in ops(aws).approvals(limit=2)] == [oldest, older]


def test_cases_needing_attention_are_listed_and_alerted(aws: Aws):
    first = triaged(aws, "N1", "finance", "P2", NOW + 24 * HOUR)
    second = triaged(aws, "N2", "technical-support", "P3", NOW + 24 * HOUR, category="technical")
    clock = Clock(NOW - 3 * HOUR)
    casework(aws, clock).record_failure(first, "Gather evidence", "TransientError", "throttled", "arn:x")
    clock.now = NOW - HOUR
    casework(aws, clock).record_failure(second, "Ask investigator", "MailRejected", "bounced", "arn:y")

    attention = ops(aws).attention()

    assert [(a.complaintId, a.reason, a.stage, a.department, a.since) for a in attention] == [
        (second, "MailRejected in 'Ask investigator'", "TRIAGED", "technical-support", NOW - HOUR),
        (first, "TransientError in 'Gather evidence'", "TRIAGED", "finance", NOW - 3 * HOUR),
    ]
    alerts = ops(aws).alerts()
    assert [(a.kind, a.complaintId, a.text, a.at) for a in alerts] == [
        ("needs_attention", second, "MailRejected in 'Ask investigator'", NOW - HOUR),
        ("needs_attention", first, "TransientError in 'Gather evidence'", NOW - 3 * HOUR),
    ]
    # Still in its work queue: it is not closed, only stuck.
    assert first in [e.complaintId for e in ops(aws).queue()]


def test_spike_alerts_appear_among_the_alerts_newest_first(aws: Aws):
    repo = repository(aws)
    stuck = triaged(aws, "N3", "finance", "P2", NOW + 24 * HOUR)
    casework(aws, Clock(NOW - 2 * HOUR)).record_failure(
        stuck, "Gather evidence", "TransientError", "throttled", "arn:x"
    )
    assert repo.claim_spike_alert("payments", "2026-11-20T09", "CMP-20261120-P0001", NOW - 3 * HOUR)
    assert repo.claim_spike_alert("technical", "2026-11-20T11", "CMP-20261120-P0002", NOW - HOUR)
    assert not repo.claim_spike_alert("payments", "2026-11-20T09", "CMP-20261120-P0003", NOW)  # one per hour

    alerts = ops(aws).alerts()

    assert [(a.kind, a.complaintId, a.at) for a in alerts] == [
        ("spike", "CMP-20261120-P0002", NOW - HOUR),
        ("needs_attention", stuck, NOW - 2 * HOUR),
        ("spike", "CMP-20261120-P0001", NOW - 3 * HOUR),
    ]
    assert alerts[0].text == "Spike in technical complaints (hour 2026-11-20T11)"
    assert [a.complaintId for a in ops(aws).alerts(limit=2)] == ["CMP-20261120-P0002", stuck]


def test_a_retried_case_leaves_the_attention_list_and_shows_its_new_execution(aws: Aws):
    stuck = triaged(aws, "N4", "finance", "P2", NOW + 24 * HOUR)
    clock = Clock(NOW - HOUR)
    casework(aws, clock).record_failure(stuck, "Gather evidence", "TransientError", "throttled", "arn:x")
    assert [a.complaintId for a in ops(aws).attention()] == [stuck]
    clock.now = NOW - HOUR / 2

    workflow = StepFunctionsWorkflow(aws.client("stepfunctions"), aws.state_machine_arn)
    retried = casework(aws, clock).retry(stuck, workflow)

    assert ops(aws).attention() == []
    assert ops(aws).alerts() == []
    overview = ops(aws).case(stuck)
    assert overview.case.status == Status.TRIAGED
    assert overview.case.retries == 1
    assert [e.type for e in overview.timeline][-2:] == ["NEEDS_ATTENTION", "RETRIED"]
    assert [(e.name, e.complaintId) for e in overview.executions] == [(f"{stuck}-retry-1", stuck)]
    assert overview.executions[0].status == "RUNNING"
    (execution,) = aws.executions()
    assert execution["executionArn"] == retried.executionArn


# ------------------------------------------------------------------ report


def add_counters(aws: Aws, day: str, shard: int, counters: dict) -> None:
    """Counters written as every stage writes them (stats_update in a transaction)."""
    update = stats_update("CasesTable", stats.Tally(day, shard, counters))
    aws.table.meta.client.transact_write_items(TransactItems=[update])


def test_the_report_reads_only_the_counters_of_the_days_asked(aws: Aws):
    for day, shards in (("2026-11-20", (0, 3, 7)), ("2026-11-21", (1, 3)), ("2026-11-22", (5,))):
        for shard in shards:
            add_counters(aws, day, shard, {"received": 1, "category#payments": 1, "channel#web": 1})
    add_counters(aws, "2026-11-20", 3, {"received": 1, "category#technical": 1, "channel#app": 1})
    queries = ops(aws)

    report = queries.report(date(2026, 11, 20), date(2026, 11, 21))

    assert report.items_read == queries.items_read == 3 + 2  # days x shards used, the 22nd not read
    assert report.received == 6
    assert report.by_day == {"2026-11-20": 4, "2026-11-21": 2}
    assert report.by_category == {"payments": 5, "technical": 1}

    # 500 more complaints counted on other days (before and after the range) change nothing read.
    client = aws.table.meta.client
    for n in range(500):
        at = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=(n % 2) * 25 + n % 10, minutes=n)
        tally = stats.tally(
            at, ZONE, f"CMP-X{n:05d}", {**stats.received("web"), **stats.triaged("payments", "P3")}
        )
        assert not date(2026, 11, 20) <= date.fromisoformat(tally.day) <= date(2026, 11, 21)
        client.transact_write_items(TransactItems=[stats_update("CasesTable", tally)])
    again = ops(aws)
    assert again.report(date(2026, 11, 20), date(2026, 11, 21)) == report
    assert again.items_read == 5
    # One day of the others holds at most one item per shard, whatever number of complaints it counted.
    busy = ops(aws).report(date(2026, 11, 1), date(2026, 11, 1))
    assert busy.items_read <= stats.SHARDS
    assert busy.received == 50  # n = 0, 10, ..., 490


def test_a_case_closed_by_the_service_is_in_the_report_of_its_day(queued: Aws):
    resolution(queued).close("CMP-20261120-F3")  # created 2 h ago: 120 minutes to resolve

    report = ops(queued).report(date(2026, 11, 20), date(2026, 11, 20))

    # Counted on the day each was received in Shanghai: F5 (the 19th) and T2 (the 17th) are not.
    assert report.received == 5
    assert report.by_priority == {"P1": 1, "P2": 2, "P3": 2}
    assert report.closed == 1
    assert report.ttr_median_hours == 2.0


def test_a_report_range_is_checked(aws: Aws):
    with pytest.raises(ValueError, match="before its start"):
        ops(aws).report(date(2026, 11, 21), date(2026, 11, 20))
    with pytest.raises(ValueError, match="366"):
        ops(aws).report(date(2025, 1, 1), date(2026, 11, 20))
