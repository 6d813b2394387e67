"""IntakeService on the in-memory fakes: storing a complaint once, starting its workflow, finding
repeats, reconciling cases whose workflow did not start, and the complainant's status view.

Over 400 lines: one service's cases, sharing one set of fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaints.core import ids
from complaints.core.errors import CaseNotFound, ConflictError, IdempotencyKeyReused
from complaints.core.models import ComplaintIn, Status
from complaints.intake.service import IntakeService
from tests.fakes import FakeRepository, make_settings

START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def complaint(email="alice@example.com", description="I was charged twice for order O-9.", **extra):
    customer = {"email": email, "name": "Alice"} | extra.pop("customer", {})
    return ComplaintIn.model_validate({"customer": customer, "description": description, **extra})


# ------------------------------------------------------------------ a new complaint


def test_submit_stores_a_received_case_due_in_eight_weeks(intake, repository, clock):
    submission = intake.submit(complaint(channel="web"))

    assert submission.created
    case, events = repository.get(submission.accepted.complaintId)
    assert case.status == Status.RECEIVED
    assert case.created_at == START
    assert case.response_due_at == START + timedelta(weeks=8)
    assert case.customer.email == "alice@example.com"
    assert case.channel == "web"
    assert events[0].type == "RECEIVED"
    assert events[0].params == {"channel": "web"}
    assert events[0].at == START


def test_submit_answers_with_the_id_the_access_code_and_the_status_link(intake, repository):
    accepted = intake.submit(complaint()).accepted

    assert accepted.status == Status.RECEIVED
    assert accepted.complaintId.startswith("CMP-20260305-")
    assert accepted.statusUrl == (
        f"https://api.example/complaints/{accepted.complaintId}?code={accepted.accessCode}"
    )
    case, _ = repository.get(accepted.complaintId)
    assert ids.access_code_matches(accepted.accessCode, case.access_code_hash)
    assert case.pending_access_code == accepted.accessCode  # for the acknowledgement email, once


def test_submit_starts_the_workflow_named_by_the_complaint_id_and_records_it(intake, repository, workflow):
    submission = intake.submit(complaint())
    complaint_id = submission.accepted.complaintId

    assert submission.workflow_started
    assert workflow.started == [complaint_id]
    case, events = repository.get(complaint_id)
    assert case.execution_arn == workflow.arn_for(complaint_id)
    assert case.execution_arn.endswith(f":execution:complaints-test-complaint-case:{complaint_id}")
    assert [event.type for event in events] == ["RECEIVED", "WORKFLOW_STARTED"]
    assert repository.unstarted(START + timedelta(days=1), 10) == []


def test_the_locale_comes_from_the_customer_or_else_from_accept_language(intake, repository):
    negotiated = intake.submit(complaint(email="li@example.com"), accept_language="zh-CN,en;q=0.5")
    chosen = intake.submit(
        complaint(email="bo@example.com", customer={"locale": "en"}), accept_language="zh-CN"
    )
    default = intake.submit(complaint(email="cy@example.com"))

    assert negotiated.locale == "zh-CN"
    assert repository.get(negotiated.accepted.complaintId)[0].locale == "zh-CN"
    assert repository.get(negotiated.accepted.complaintId)[0].customer.locale == "zh-CN"
    assert chosen.locale == "en"
    assert default.locale == "en"


def test_a_time_of_occurrence_without_zone_is_read_in_the_policy_time_zone(intake, repository):
    submission = intake.submit(complaint(occurredAt="2026-03-04T18:20:00"))

    case, _ = repository.get(submission.accepted.complaintId)
    assert case.occurred_at == datetime(2026, 3, 4, 18, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert case.occurred_at.astimezone(UTC) == datetime(2026, 3, 4, 10, 20, tzinfo=UTC)


# ------------------------------------------------------------------ repeats


def test_the_same_idempotency_key_gets_the_first_answer_and_stores_nothing(
    intake, repository, workflow, clock
):
    first = intake.submit(complaint(), idempotency_key="key-1")
    clock.advance(3600)
    again = intake.submit(complaint(), idempotency_key="key-1")

    assert not again.created
    assert again.accepted.complaintId == first.accepted.complaintId
    assert again.accepted.accessCode == first.accepted.accessCode
    assert again.accepted.statusUrl == first.accepted.statusUrl
    assert len(repository.cases) == 1
    assert repository.event_types(first.accepted.complaintId) == ["RECEIVED", "WORKFLOW_STARTED"]
    assert workflow.started == [first.accepted.complaintId]


def test_the_same_idempotency_key_with_a_different_body_is_refused(intake, repository):
    intake.submit(complaint(), idempotency_key="key-1")

    with pytest.raises(IdempotencyKeyReused):
        intake.submit(complaint(description="Something else entirely."), idempotency_key="key-1")
    assert len(repository.cases) == 1


def test_different_idempotency_keys_are_different_complaints(intake, repository):
    first = intake.submit(complaint(), idempotency_key="key-1")
    second = intake.submit(complaint(description="Another problem."), idempotency_key="key-2")

    assert second.created
    assert second.accepted.complaintId != first.accepted.complaintId
    assert len(repository.cases) == 2


def test_an_idempotency_key_is_remembered_for_a_day(intake, repository, clock):
    first = intake.submit(complaint(), idempotency_key="key-1")
    clock.advance(86400 - 1)
    assert intake.submit(complaint(), idempotency_key="key-1").accepted.complaintId == (
        first.accepted.complaintId
    )
    clock.advance(2)
    assert intake.submit(complaint(), idempotency_key="key-1").created


def test_the_same_text_from_the_same_customer_within_ten_minutes_is_the_first_case(intake, repository, clock):
    first = intake.submit(complaint(description="My card was charged twice.\nPlease refund."))
    clock.advance(599)
    again = intake.submit(
        complaint(email="Alice@Example.com", description="  my CARD was charged   twice. please REFUND.  ")
    )

    assert not again.created
    assert again.accepted.complaintId == first.accepted.complaintId
    assert again.accepted.accessCode == first.accepted.accessCode
    assert len(repository.cases) == 1


def test_the_same_text_after_the_window_is_a_new_case(intake, repository, clock):
    first = intake.submit(complaint())
    clock.advance(601)
    again = intake.submit(complaint())

    assert again.created
    assert again.accepted.complaintId != first.accepted.complaintId
    assert len(repository.cases) == 2


def test_the_same_text_from_another_customer_is_a_new_case(intake, repository):
    first = intake.submit(complaint(email="alice@example.com"))
    other = intake.submit(complaint(email="bob@example.com"))

    assert other.created
    assert other.accepted.complaintId != first.accepted.complaintId
    assert len(repository.cases) == 2


def test_a_different_text_from_the_same_customer_is_a_new_case(intake, repository):
    intake.submit(complaint(description="First problem."))
    assert intake.submit(complaint(description="Second problem.")).created
    assert len(repository.cases) == 2


# ------------------------------------------------------------------ workflow failures and reconciliation


def test_a_failed_workflow_start_leaves_the_case_received_for_the_reconciler(intake, repository, workflow):
    workflow.failing = True

    submission = intake.submit(complaint())

    assert submission.created
    assert not submission.workflow_started
    complaint_id = submission.accepted.complaintId
    case, events = repository.get(complaint_id)
    assert case.status == Status.RECEIVED
    assert case.execution_arn is None
    assert [event.type for event in events] == ["RECEIVED"]
    assert workflow.started == []


def test_reconcile_starts_the_stranded_case_once_after_the_grace_period(intake, repository, workflow, clock):
    workflow.failing = True
    complaint_id = intake.submit(complaint()).accepted.complaintId
    workflow.failing = False

    clock.advance(60)  # inside the 120 s grace: intake may still be starting it
    assert intake.reconcile().started == []
    assert workflow.started == []

    clock.advance(61)
    report = intake.reconcile()
    assert report.started == [complaint_id]
    assert report.failed == []
    assert workflow.started == [complaint_id]
    case, events = repository.get(complaint_id)
    assert case.execution_arn == workflow.arn_for(complaint_id)
    assert [event.type for event in events] == ["RECEIVED", "WORKFLOW_STARTED"]

    clock.advance(300)
    assert intake.reconcile().started == []
    assert workflow.started == [complaint_id]


def test_reconcile_reports_a_case_it_still_cannot_start_and_retries_it_later(intake, workflow, clock):
    workflow.failing = True
    complaint_id = intake.submit(complaint()).accepted.complaintId
    clock.advance(300)

    assert intake.reconcile().failed == [complaint_id]

    workflow.failing = False
    clock.advance(300)
    assert intake.reconcile().started == [complaint_id]
    assert workflow.started == [complaint_id]


def test_reconcile_starts_the_oldest_cases_first_up_to_the_limit(intake, workflow, clock):
    workflow.failing = True
    stranded = []
    for number in range(3):
        stranded.append(intake.submit(complaint(description=f"Problem {number}")).accepted.complaintId)
        clock.advance(10)
    workflow.failing = False
    clock.advance(200)

    assert intake.reconcile(limit=2).started == stranded[:2]
    assert intake.reconcile(limit=2).started == stranded[2:]


def test_the_grace_period_is_divided_by_the_time_scale(repository, workflow, policy, clock):
    # TIME_SCALE=60: 120 policy seconds pass in 2 real seconds.
    intake = IntakeService(repository, workflow, policy, make_settings(time_scale=60), clock=clock)
    workflow.failing = True
    complaint_id = intake.submit(complaint()).accepted.complaintId
    workflow.failing = False

    clock.advance(1)
    assert intake.reconcile().started == []
    clock.advance(1.5)
    assert intake.reconcile().started == [complaint_id]


# ------------------------------------------------------------------ status


def test_status_with_the_right_code_shows_the_case_and_its_timeline(intake, clock):
    accepted = intake.submit(complaint(channel="web")).accepted

    view = intake.status(accepted.complaintId, accepted.accessCode)

    assert view.complaintId == accepted.complaintId
    assert view.status == Status.RECEIVED
    assert view.createdAt == START
    assert view.responseDueAt == START + timedelta(weeks=8)
    assert [entry.type for entry in view.timeline] == ["RECEIVED", "WORKFLOW_STARTED"]
    assert view.timeline[0].detail == "Complaint received through the web form channel."
    assert view.timeline[1].detail == "Case handling started."


def test_status_accepts_the_code_typed_in_lower_case_without_dashes(intake):
    accepted = intake.submit(complaint()).accepted
    typed = accepted.accessCode.lower().replace("-", "")

    assert intake.status(accepted.complaintId, typed).complaintId == accepted.complaintId


def test_the_timeline_is_in_the_language_of_the_case(intake):
    accepted = intake.submit(complaint(channel="web"), accept_language="zh-CN").accepted

    view = intake.status(accepted.complaintId, accepted.accessCode)

    assert [entry.detail for entry in view.timeline] == ["已通过网页表单渠道受理投诉。", "已开始处理。"]


def test_status_does_not_show_personal_data(intake):
    accepted = intake.submit(complaint(description="My secret account story.")).accepted

    shown = intake.status(accepted.complaintId, accepted.accessCode).model_dump_json()

    assert "alice@example.com" not in shown
    assert "secret account story" not in shown
    assert "Alice" not in shown


def _not_found(intake: IntakeService, complaint_id, code) -> CaseNotFound:
    with pytest.raises(CaseNotFound) as raised:
        intake.status(complaint_id, code)
    return raised.value


def test_a_wrong_code_and_an_unknown_id_are_the_same_not_found(intake):
    accepted = intake.submit(complaint()).accepted
    other_code = ids.new_access_code()
    unknown_id = ids.new_complaint_id(START)
    while unknown_id == accepted.complaintId:
        unknown_id = ids.new_complaint_id(START)

    wrong_code = _not_found(intake, accepted.complaintId, other_code)
    unknown = _not_found(intake, unknown_id, accepted.accessCode)

    assert type(wrong_code) is type(unknown) is CaseNotFound
    assert str(wrong_code) == accepted.complaintId
    assert str(unknown) == unknown_id
    assert wrong_code.args == (accepted.complaintId,) and unknown.args == (unknown_id,)


def test_an_unknown_id_costs_the_same_reads_and_hashing_as_a_wrong_code(intake, repository, monkeypatch):
    accepted = intake.submit(complaint()).accepted
    unknown_id = "CMP-20260305-ZZZZZZ"
    assert unknown_id != accepted.complaintId
    hashed: list[str] = []
    compared: list[str] = []
    real_hash, real_compare = ids.hash_access_code, ids.hmac.compare_digest
    monkeypatch.setattr(ids, "hash_access_code", lambda code: hashed.append(code) or real_hash(code))
    monkeypatch.setattr(ids.hmac, "compare_digest", lambda a, b: compared.append(b) or real_compare(a, b))

    work = []
    for complaint_id in (accepted.complaintId, unknown_id):
        repository.calls.clear()
        hashed.clear()
        compared.clear()
        _not_found(intake, complaint_id, ids.new_access_code())
        work.append((list(repository.calls), len(hashed), len(compared)))

    assert work[0] == work[1] == (["access_code_hash"], 1, 1)


def test_the_right_code_reads_the_case_after_checking_it(intake, repository):
    accepted = intake.submit(complaint()).accepted
    repository.calls.clear()

    intake.status(accepted.complaintId, accepted.accessCode)

    assert repository.calls == ["access_code_hash", "get"]


@pytest.mark.parametrize(
    "complaint_id",
    ["", "CMP-2026-0305", "cmp-20260305-ABCDEF", "CMP-20260305-ABCDEI", "CMP-20260305-ABCDEFG", "../CASE"],
)
def test_a_malformed_id_is_not_found_without_reading_the_table(complaint_id, workflow, policy, clock):
    class Untouchable(FakeRepository):
        def get(self, complaint_id):
            raise AssertionError("a malformed id must not reach the repository")

        def access_code_hash(self, complaint_id):
            raise AssertionError("a malformed id must not reach the repository")

    intake = IntakeService(Untouchable(), workflow, policy, make_settings(), clock=clock)

    assert str(_not_found(intake, complaint_id, "ABCD-EFGH-JKMN-PQRS")) == complaint_id


@pytest.mark.parametrize("code", [None, ""])
def test_status_without_a_code_is_not_found(intake, code):
    accepted = intake.submit(complaint()).accepted
    assert str(_not_found(intake, accepted.complaintId, code)) == accepted.complaintId


# ------------------------------------------------------------------ id collisions


class CollidingRepository(FakeRepository):
    """Reports the first `collisions` complaint ids it is given as taken."""

    def __init__(self, collisions: int):
        super().__init__()
        self.collisions = collisions
        self.tried: list[str] = []

    def create(self, case, event, claim, now, stats=None):
        self.tried.append(case.complaint_id)
        if len(self.tried) <= self.collisions:
            raise ConflictError("complaint id in use")
        return super().create(case, event, claim, now, stats)


def test_a_taken_complaint_id_is_drawn_again(workflow, policy, clock):
    repository = CollidingRepository(collisions=1)
    intake = IntakeService(repository, workflow, policy, make_settings(), clock=clock)

    submission = intake.submit(complaint())

    assert submission.created
    assert len(repository.tried) == 2
    assert repository.tried[0] != repository.tried[1]
    assert submission.accepted.complaintId == repository.tried[1]
    assert list(repository.cases) == [repository.tried[1]]
    assert workflow.started == [repository.tried[1]]


def test_intake_gives_up_when_no_free_id_can_be_drawn(workflow, policy, clock):
    repository = CollidingRepository(collisions=100)
    intake = IntakeService(repository, workflow, policy, make_settings(), clock=clock)

    with pytest.raises(ConflictError):
        intake.submit(complaint())
    assert repository.cases == {}
    assert workflow.started == []
