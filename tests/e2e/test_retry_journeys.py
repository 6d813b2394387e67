"""`complaints retry` of a case that failed after its investigation, then the turn that sends it back to a
person: an approver's rejection goes back to the investigator; a customer's "no" reopens the case to the
department lead. Both waits read the investigation's clocks, which a resumed execution has to set itself
(tests/deploy/test_asl_dataflow.py checks every path; these run its two routes: RESOLVING resumes the way
AWAITING_CONFIRMATION does). The case ends CLOSED, never with an execution FAILED behind a case that looks
fine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_cli import ok
from tests.support.driver import (
    FINDINGS,
    ROSTER,
    customer_link,
    history,
    investigator_link,
    state_machine_arn,
    states_entered,
    status_view,
    submit_payment_complaint,
    task_link,
    wait_for,
    wait_for_execution_end,
    wait_for_status,
)

# These tests make SES refuse every email for a while: on a stack of their own, they never overlap with
# another test's emails, and their group runs beside the shared stack's on another xdist worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("retry_stack")]

SENDER = "complaints@example.com"
REFUND = {**FINDINGS, "remedy": "refund", "amount": "500.00", "currency": "CNY"}  # the supervisor approves


@pytest.fixture(scope="module")
def retry_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack as `make run` starts it: one policy hour per real second."""
    with running_stack(tmp_path_factory.mktemp("retry"), 3600) as running:
        yield running


@contextmanager
def mail_refused(stack: Stack) -> Iterator[None]:
    """SES refuses every email (the sender's identity is gone) until the block ends."""
    ses = stack.client("sesv2")
    ses.delete_email_identity(EmailIdentity=SENDER)
    try:
        yield
    finally:
        ses.create_email_identity(EmailIdentity=SENDER)


def retried(stack: Stack, accepted: dict, stage: str) -> str:
    """Ops retry the case, NEEDS_ATTENTION since it failed at `stage`: the name of the retry's execution."""
    assert wait_for_status(stack, accepted, "NEEDS_ATTENTION")["timeline"][-1]["type"] == "NEEDS_ATTENTION"
    execution = f"{accepted['complaintId']}-retry-1"
    assert f"resumed at {stage}: execution {execution}." in ok(stack, "retry", accepted["complaintId"])
    return execution


def asked(stack: Stack, execution: str, to: str, containing: str) -> dict:
    """The email to `to` with `containing` in its subject or text, sent by `execution`, which must not end
    first. (Where AWS ends an execution on a States.Runtime error, moto records an ExecutionFailed event,
    then lets a Catch of States.ALL take the error: locally the case ends NEEDS_ATTENTION.)"""
    sfn = stack.client("stepfunctions")

    def sent() -> dict | None:
        email = next(
            (m for m in stack.mailbox() if to in m["to"] and containing in m["subject"] + m["text"]), None
        )
        if email is None:
            ended = sfn.describe_execution(executionArn=stack.execution_arn(execution))
            if ended["status"] != "RUNNING":
                events = history(stack, execution)
                errors = [e["executionFailedEventDetails"] for e in events if e["type"] == "ExecutionFailed"]
                raise AssertionError(f"{execution} ended {ended['status']} before emailing {to}: {errors}")
        return email

    return wait_for(sent, what=f"an email to {to} with {containing!r}")


def closed_by(stack: Stack, accepted: dict, execution: str) -> list[str]:
    """`execution` ended SUCCEEDED and the case CLOSED: the states it entered."""
    ended = wait_for_execution_end(stack, execution)
    entered = states_entered(history(stack, execution))
    assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"), entered)
    assert wait_for_status(stack, accepted, "CLOSED")
    return entered


def test_retried_at_awaiting_approval_a_rejection_goes_back_to_the_investigator(retry_stack: Stack):
    stack = retry_stack
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    with mail_refused(stack):  # the approver's email is refused: "Wait for approver" fails
        assert requests.post(link, data=REFUND, timeout=10).status_code == 200
        assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "FAILED"
    execution = retried(stack, accepted, "AWAITING_APPROVAL")

    supervisor = ROSTER[view["department"]].approvers["supervisor"]
    approval = asked(stack, execution, supervisor.email, accepted["complaintId"])
    comment = "Check the bank's return code first."
    assert requests.post(task_link(approval), data={"decision": "reject", "comment": comment}, timeout=10).ok
    investigator = next(p for p in ROSTER[view["department"]].investigators if p.name == view["assignee"])
    again = asked(stack, execution, investigator.email, "return code")  # "Wait for investigator"
    assert requests.post(task_link(again), data=FINDINGS, timeout=10).ok  # no approval needed this time
    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "yes", "rating": "4"}, timeout=10
    ).ok

    entered = closed_by(stack, accepted, execution)
    assert entered[:2] == ["Start or resume?", "Set clocks to resume"]
    assert entered.index("Decide approval level") < entered.index("Wait for investigator")


def test_retried_at_awaiting_confirmation_a_no_reopens_the_case_to_the_lead(retry_stack: Stack):
    stack = retry_stack
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    with mail_refused(stack):  # the customer's email is refused: "Wait for the customer's answer" fails
        assert requests.post(link, data=FINDINGS, timeout=10).status_code == 200
        assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "FAILED"
    execution = retried(stack, accepted, "AWAITING_CONFIRMATION")

    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "no", "rating": "2"}, timeout=10
    ).ok
    lead = ROSTER[view["department"]].lead
    lead_email = asked(stack, execution, lead.email, accepted["complaintId"])  # "Wait for department lead"
    assert requests.post(task_link(lead_email), data={**FINDINGS, "summary": "Second look."}, timeout=10).ok
    assert requests.post(
        customer_link(stack, accepted, 2), data={"resolved": "yes", "rating": "4"}, timeout=10
    ).ok

    entered = closed_by(stack, accepted, execution)
    assert entered[:2] == ["Start or resume?", "Set clocks to resume"]
    assert entered.index("Apply remedy") < entered.index("Wait for department lead")


def test_an_acknowledgement_throttled_by_ses_is_retried_and_sent_once(retry_stack: Stack):
    """SES answers its rate limit for a while (8 calls: more than one invocation's botocore retries): the
    acknowledgement step fails as TransientError, Step Functions runs it again, and the complainant gets
    exactly one acknowledgement; the case goes on to its investigator, nothing needing attention."""
    stack = retry_stack
    armed = requests.post(
        f"{stack.base_url}/_local/faults",
        json={"operation": "SendEmail", "error": "TooManyRequestsException", "count": 8},
        timeout=10,
    )
    assert armed.status_code == 200, armed.text

    accepted = submit_payment_complaint(stack)

    view = wait_for_status(stack, accepted, "INVESTIGATING")
    assert "NEEDS_ATTENTION" not in [e["type"] for e in view["timeline"]]
    events = history(stack, accepted["complaintId"])
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert failed and all("TransientError" in e["taskFailedEventDetails"]["error"] for e in failed), failed
    to_complainant = [m for m in stack.mailbox() if accepted["complaintId"] in m["subject"]]
    acknowledgements = [m for m in to_complainant if "We received your complaint" in m["subject"]]
    assert len(acknowledgements) == 1


def _stop_the_other_cases(stack: Stack) -> None:
    """Faults aimed at a function hit its next calls, whoever makes them: the earlier tests' cases, still
    waiting for their people, have reminders due (one took the evidence step's faults once). They are
    stopped, so that only the case under test meets the faults."""
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn(stack), statusFilter="RUNNING"
    )
    for execution in (e for page in pages for e in page["executions"]):
        sfn.stop_execution(executionArn=execution["executionArn"])


def _arm(stack: Stack, **fault: object) -> None:
    armed = requests.post(f"{stack.base_url}/_local/faults", json=fault, timeout=10)
    assert armed.status_code == 200, armed.text


def test_dynamodb_throttling_and_conflicts_inside_workflow_steps_lose_nothing_and_do_nothing_twice(
    retry_stack: Stack,
):
    """DynamoDB refuses writes while the workflow runs: triage's transaction is cancelled twice by a
    conflicting one, the evidence step's twice more, and the acknowledgement is recorded only at the
    fourth try, after its email went out (a throttled write that a retried step would answer by sending the
    email again). The case reaches its investigator with one acknowledgement, one triage, one investigator
    email, nothing needing attention."""
    stack = retry_stack
    _stop_the_other_cases(stack)
    conflict = {"operation": "TransactWriteItems", "error": "TransactionConflict"}
    _arm(stack, **conflict, count=2, function="TriageFunction")
    _arm(stack, **conflict, count=2, function="InvestigationFunction")
    # The acknowledgement's first transaction counts the mail to the address; its second records the send.
    _arm(stack, **conflict, count=3, function="AcknowledgeFunction", after=1)

    accepted = submit_payment_complaint(stack)

    link, _ = investigator_link(stack, accepted)
    view = status_view(accepted)  # read after the investigator's email: its event is in
    timeline = [e["type"] for e in view["timeline"]]
    assert "NEEDS_ATTENTION" not in timeline
    assert timeline.count("ACKNOWLEDGED") == 1 and timeline.count("TRIAGED") == 1
    assert timeline.count("INVESTIGATION_ASSIGNED") == 1
    failed = [e for e in history(stack, accepted["complaintId"]) if e["type"] == "TaskFailed"]
    assert len(failed) == 4, failed  # triage's two and the evidence step's two: the state machine retried
    assert all("TransientError" in e["taskFailedEventDetails"]["error"] for e in failed), failed
    mails = [m for m in stack.mailbox() if accepted["complaintId"] in m["subject"]]
    assert len([m for m in mails if "We received your complaint" in m["subject"]]) == 1
    assert len([m for m in mails if link in m["links"]]) == 1


def test_an_acknowledgement_whose_record_is_lost_after_sending_is_sent_again_and_recorded_once(
    retry_stack: Stack,
):
    """The function fails between sending the acknowledgement and recording it (every try to record it
    refused): the step is retried and the complainant gets the acknowledgement again, the same words under
    another Message-ID (SES gives each email its own). Nothing is lost: one ACKNOWLEDGED in the timeline,
    the case goes on to its investigator."""
    stack = retry_stack
    _arm(
        stack,
        operation="TransactWriteItems",
        error="TransactionConflict",
        count=6,  # the five tries of the record after the send, and one more
        function="AcknowledgeFunction",
        after=1,  # the mail counter's transaction before the send goes through
    )

    accepted = submit_payment_complaint(stack)

    investigator_link(stack, accepted)
    timeline = [e["type"] for e in status_view(accepted)["timeline"]]
    assert timeline.count("ACKNOWLEDGED") == 1 and "NEEDS_ATTENTION" not in timeline
    acks = [
        m
        for m in stack.mailbox()
        if accepted["complaintId"] in m["subject"] and "We received your complaint" in m["subject"]
    ]
    assert len(acks) == 2
    assert acks[0]["text"] == acks[1]["text"] and acks[0]["messageId"] != acks[1]["messageId"]
    failed = [e for e in history(stack, accepted["complaintId"]) if e["type"] == "TaskFailed"]
    assert len(failed) == 1 and "TransientError" in failed[0]["taskFailedEventDetails"]["error"]
