"""Retrying a case that needs attention (Casework.retry), and the failure that puts it there, on the fakes."""

from __future__ import annotations

import pytest

from complaints.core.errors import CaseNotFound, ConflictError, NotRetryable, WorkflowStartFailed
from complaints.core.models import Case, CaseEvent, ComplaintIn, Status
from complaints.supervision.casework import Casework
from tests.fakes import FakeClock, FakeRepository, FakeWorkflow
from tests.support.cases import store_case

COMPLAINT_ID = "CMP-20260305-RTY001"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:complaints-test-complaint-case:x"


def stored_case(
    repository: FakeRepository,
    clock: FakeClock,
    workflow: FakeWorkflow,
    status: Status,
    complaint_id=COMPLAINT_ID,
) -> str:
    """A case in `status` whose first execution (named by its id) was started."""
    store_case(
        repository,
        complaint_id,
        clock(),
        "alice@example.com",
        "Charged twice.",
        status=status,
        channel="web",
        category="payments",
        department="finance",
        execution_arn=workflow.arn_for(complaint_id),
    )
    return complaint_id


def fail(
    casework: Casework, complaint_id: str, state: str = "Gather evidence", error: str = "TransientError"
):
    return casework.record_failure(complaint_id, state, error, "DynamoDB ThrottlingException", EXECUTION)


@pytest.fixture
def investigating(repository, clock, workflow) -> str:
    return stored_case(repository, clock, workflow, Status.INVESTIGATING)


# ------------------------------------------------------------------ retry


def test_a_retried_case_resumes_where_it_failed_in_a_new_execution(
    casework, repository, workflow, clock, investigating
):
    fail(casework, investigating)
    clock.advance(600)

    retried = casework.retry(investigating, workflow)

    assert retried.complaintId == investigating
    assert retried.resumedAt == "INVESTIGATING"
    assert retried.executionArn == workflow.arn_for(f"{investigating}-retry-1")
    assert workflow.resumed == [
        (f"{investigating}-retry-1", {"complaintId": investigating, "resumeAt": "INVESTIGATING"})
    ]
    assert workflow.started == []  # not the first execution again
    case, events = repository.get(investigating)
    assert case.status == Status.INVESTIGATING
    assert case.retries == 1
    assert case.attention_reason is None and case.attention_from is None
    assert case.execution_arn == retried.executionArn
    assert events[-1].type == "RETRIED"
    assert events[-1].params == {"stage": "INVESTIGATING"}
    assert events[-1].at == clock()


def test_a_second_failure_and_retry_starts_retry_2(casework, repository, workflow, clock, investigating):
    fail(casework, investigating)
    casework.retry(investigating, workflow)
    clock.advance(60)
    fail(casework, investigating, state="Ask investigator", error="MailRejected")

    assert repository.get(investigating)[0].attention_from == Status.INVESTIGATING
    second = casework.retry(investigating, workflow)

    assert second.executionArn == workflow.arn_for(f"{investigating}-retry-2")
    assert [name for name, _ in workflow.resumed] == [f"{investigating}-retry-1", f"{investigating}-retry-2"]
    case, events = repository.get(investigating)
    assert case.retries == 2
    assert case.execution_arn == second.executionArn
    assert [e.type for e in events].count("RETRIED") == 2


def test_a_case_that_failed_before_triage_resumes_at_received(casework, repository, workflow, clock):
    complaint_id = stored_case(repository, clock, workflow, Status.RECEIVED)
    fail(casework, complaint_id, state="Send acknowledgement", error="MailRejected")

    retried = casework.retry(complaint_id, workflow)

    assert retried.resumedAt == "RECEIVED"
    assert workflow.resumed[0][1]["resumeAt"] == "RECEIVED"
    assert repository.get(complaint_id)[0].status == Status.RECEIVED


def test_a_case_submitted_through_intake_can_be_retried(intake, casework, repository, workflow):
    accepted = intake.submit(
        ComplaintIn.model_validate({"customer": {"email": "bob@example.com"}, "description": "Bonus missing"})
    ).accepted
    fail(casework, accepted.complaintId, state="Send acknowledgement", error="MailRejected")

    retried = casework.retry(accepted.complaintId, workflow)

    assert retried.executionArn == workflow.arn_for(f"{accepted.complaintId}-retry-1")
    assert repository.get(accepted.complaintId)[0].status == Status.RECEIVED


@pytest.mark.parametrize("status", [Status.INVESTIGATING, Status.CLOSED, Status.RECEIVED])
def test_a_case_not_needing_attention_is_not_retried(casework, repository, workflow, clock, status):
    complaint_id = stored_case(repository, clock, workflow, status)
    before = repository.get(complaint_id)

    with pytest.raises(NotRetryable, match="not NEEDS_ATTENTION"):
        casework.retry(complaint_id, workflow)

    assert workflow.resumed == []
    assert repository.get(complaint_id) == before


def test_a_retried_case_is_not_retried_again_until_it_fails_again(
    casework, repository, workflow, investigating
):
    fail(casework, investigating)
    casework.retry(investigating, workflow)

    with pytest.raises(NotRetryable):
        casework.retry(investigating, workflow)  # a second click on "retry"

    assert len(workflow.resumed) == 1
    assert repository.get(investigating)[0].retries == 1


def test_a_case_whose_execution_still_runs_is_not_retried(casework, repository, workflow, investigating):
    fail(casework, investigating)
    workflow.still_running.add(workflow.arn_for(investigating))
    before = repository.get(investigating)

    with pytest.raises(NotRetryable, match="still running"):
        casework.retry(investigating, workflow)

    assert workflow.resumed == []
    assert repository.get(investigating) == before  # still NEEDS_ATTENTION, no RETRIED event

    workflow.still_running.clear()  # it ended
    assert casework.retry(investigating, workflow).resumedAt == "INVESTIGATING"


def test_while_a_retry_execution_runs_the_case_is_not_retried_again(
    casework, repository, workflow, investigating
):
    fail(casework, investigating)
    first = casework.retry(investigating, workflow)
    fail(casework, investigating, state="Ask investigator")  # reported while that execution runs on
    workflow.still_running.add(first.executionArn)

    with pytest.raises(NotRetryable):
        casework.retry(investigating, workflow)
    assert len(workflow.resumed) == 1


def test_retrying_an_unknown_case_raises_case_not_found(casework, workflow):
    with pytest.raises(CaseNotFound):
        casework.retry("CMP-20260305-NOSUCH", workflow)
    assert workflow.resumed == []


class ConcurrentRetry(FakeRepository):
    """Another ops person's retry of the same case lands just before ours is written."""

    race = True

    def resume(self, case: Case, event: CaseEvent) -> Case:
        if self.race:
            self.race = False
            super().resume(case, event)
        return super().resume(case, event)


def test_of_two_concurrent_retries_one_goes_through(mailer, policy, settings, clock, workflow):
    repository = ConcurrentRetry()
    casework = Casework(repository, mailer, policy, settings, clock=clock)
    complaint_id = stored_case(repository, clock, workflow, Status.INVESTIGATING)
    fail(casework, complaint_id)

    with pytest.raises(ConflictError):
        casework.retry(complaint_id, workflow)

    assert workflow.resumed == []  # ours started no second execution
    assert repository.get(complaint_id)[0].retries == 1


# ------------------------------------------------------------------ the failure it retries


def test_a_failure_is_counted_once_for_the_report(casework, repository, investigating):
    fail(casework, investigating)
    fail(casework, investigating)  # the same failure reported again (a retried Record failure task)

    assert repository.counted() == {"needs_attention": 1}
    assert repository.event_types(investigating).count("NEEDS_ATTENTION") == 1


def test_another_failure_while_waiting_changes_the_reason_but_is_not_counted_again(
    casework, repository, investigating
):
    fail(casework, investigating)
    fail(casework, investigating, state="Ask investigator", error="MailRejected")

    case, _ = repository.get(investigating)
    assert case.attention_reason == "MailRejected in 'Ask investigator'"
    assert case.attention_from == Status.INVESTIGATING  # not NEEDS_ATTENTION: a retry still knows where
    assert repository.counted() == {"needs_attention": 1}


def test_a_new_failure_after_a_retry_is_counted_again(casework, repository, workflow, investigating):
    fail(casework, investigating)
    casework.retry(investigating, workflow)
    fail(casework, investigating)

    assert repository.counted() == {"needs_attention": 2}


def test_the_failure_is_counted_on_its_policy_day(casework, repository, clock, investigating):
    clock.advance(6 * 3600)  # 16:00 UTC on 5 March: 00:00 on 6 March in Shanghai
    fail(casework, investigating)

    (tally,) = repository.tallies
    assert tally.day == "2026-03-06"
    assert tally.counters == {"needs_attention": 1}


def test_a_retry_whose_execution_cannot_start_leaves_the_case_visibly_needing_attention(
    casework, repository, workflow, investigating
):
    fail(casework, investigating)
    workflow.failing = True

    with pytest.raises(WorkflowStartFailed):
        casework.retry(investigating, workflow)

    case, events = repository.get(investigating)
    assert case.status == Status.NEEDS_ATTENTION
    assert "in 'retry'" in (case.attention_reason or "")
    assert case.attention_from == Status.INVESTIGATING  # a later retry still resumes the same stage
    assert [e.type for e in events][-3:] == ["NEEDS_ATTENTION", "RETRIED", "NEEDS_ATTENTION"]
    workflow.failing = False
    assert casework.retry(investigating, workflow).resumedAt == "INVESTIGATING"
