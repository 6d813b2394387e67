"""After the remedy, on the running stack: the customer's answer from the email link; yes -> closed and
archived; no -> reopened to the lead, no again -> final response naming the ombudsman; no answer ->
closed after 7 days (a faster clock); a payment-system outage -> retries -> NEEDS_ATTENTION."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests

from tests.e2e.conftest import Stack
from tests.support.driver import (
    FINDINGS,
    ROSTER,
    customer_link,
    history,
    investigator_link,
    states_entered,
    submit_payment_complaint,
    task_link,
    wait_for,
    wait_for_email,
    wait_for_execution_end,
    wait_for_status,
)


def test_the_customer_confirms_and_the_case_closes_and_is_archived(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    requests.post(link, data=FINDINGS, timeout=10)
    answer_link = customer_link(stack, accepted)

    page = requests.get(answer_link, timeout=10)
    assert page.status_code == 200
    assert 'name="resolved"' in page.text and 'name="rating"' in page.text
    assert requests.post(answer_link, data={"resolved": "yes", "rating": "9"}, timeout=10).status_code == 422
    thanks = requests.post(
        answer_link, data={"resolved": "yes", "rating": "5", "comment": "Quick."}, timeout=10
    )
    assert thanks.status_code == 200

    execution = wait_for_execution_end(stack, accepted["complaintId"])
    assert execution["status"] == "SUCCEEDED"
    entered = states_entered(history(stack, accepted["complaintId"]))
    # The whole path, one state transition each, whatever the waits lasted.
    assert entered == [
        "Start or resume?",
        "Send acknowledgement",
        "Triage complaint",
        "Duplicate of an open case?",
        "Watch for spikes",
        "Gather evidence",
        "Set investigation clocks",
        "Wait for investigator",
        "Findings or a question?",
        "Record findings",
        "Decide approval level",
        "Needs approval?",
        "Apply remedy",
        "Wait for the customer's answer",
        "Record the customer's answer",
        "What does the customer say?",
        "Close case",
        "Case closed",
    ]
    assert entered[-5:] == [
        "Wait for the customer's answer",
        "Record the customer's answer",
        "What does the customer say?",
        "Close case",
        "Case closed",
    ]
    view = wait_for_status(stack, accepted, "CLOSED")
    assert [e["type"] for e in view["timeline"]][-2:] == ["CUSTOMER_CONFIRMED", "CLOSED"]
    archived = stack.client("dynamodb").get_item(
        TableName="CasesTable",
        Key={"pk": {"S": f"ARCHIVE#{accepted['complaintId']}"}, "sk": {"S": "ARCHIVE"}},
    )["Item"]
    kept_until = datetime.fromtimestamp(int(archived["ttl"]["N"]), UTC)
    assert kept_until > datetime.now(UTC) + timedelta(days=3 * 365 - 2)
    case = archived["case"]["M"]
    assert case["status"]["S"] == "CLOSED"
    assert case["csat_rating"]["N"] == "5"
    assert case["findings"]["M"]["remedy"]["S"] == "explanation"
    assert requests.post(answer_link, data={"resolved": "no", "rating": "1"}, timeout=10).status_code == 409


def test_no_reopens_to_the_lead_and_a_second_no_gets_the_final_response(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    requests.post(link, data=FINDINGS, timeout=10)
    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "no", "rating": "2"}, timeout=10
    ).ok

    lead = ROSTER[view["department"]].lead
    lead_email = wait_for_email(stack, lead.email, accepted["complaintId"])
    lead_link = task_link(lead_email)
    assert requests.post(lead_link, data={**FINDINGS, "summary": "Second look: bank delay."}, timeout=10).ok
    assert requests.post(
        customer_link(stack, accepted, 2), data={"resolved": "no", "rating": "1"}, timeout=10
    ).ok

    final = wait_for(
        lambda: next(
            (
                m
                for m in stack.mailbox()
                if "Final response" in m["subject"] and accepted["complaintId"] in m["subject"]
            ),
            None,
        ),
        what="the final response letter",
    )
    assert "Ombudsman" in final["text"]
    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "SUCCEEDED"
    view = wait_for_status(stack, accepted, "CLOSED")
    types = [e["type"] for e in view["timeline"]]
    assert types.count("REOPENED") == 1
    assert types[-3:] == ["CUSTOMER_DISSATISFIED", "FINAL_RESPONSE", "CLOSED"]


def test_a_payment_system_outage_is_retried_then_needs_attention(stack: Stack):
    dynamodb = stack.client("dynamodb")
    definition = dynamodb.describe_table(TableName="LedgerTable")["Table"]
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)
    dynamodb.delete_table(TableName="LedgerTable")  # the payment system goes down
    try:
        refund = {**FINDINGS, "remedy": "refund", "amount": "100.00", "currency": "CNY"}  # no approval needed
        assert requests.post(link, data=refund, timeout=10).ok
        execution = wait_for_execution_end(stack, accepted["complaintId"])
    finally:
        dynamodb.create_table(
            TableName="LedgerTable",
            AttributeDefinitions=definition["AttributeDefinitions"],
            KeySchema=definition["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )

    assert execution["status"] == "FAILED"
    view = wait_for_status(stack, accepted, "NEEDS_ATTENTION")
    assert "LedgerUnavailable" in view["timeline"][-1]["detail"]
    events = history(stack, accepted["complaintId"])
    failures = [e for e in events if e["type"] == "TaskFailed"]
    assert len(failures) == 4  # the first try and three retries with backoff
    assert states_entered(events)[-4:] == [
        "Apply remedy",
        "Apply remedy failed",
        "Record failure",
        "Needs attention",
    ]


def test_no_answer_in_7_days_closes_the_case(quicker_stack: Stack):
    stack = quicker_stack
    accepted = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": "quiet.customer@example.com"},
            "description": "The support agent was rude.",
        },
        timeout=10,
    ).json()
    link, view = investigator_link(stack, accepted)
    assert view["priority"] == "P4"
    requests.post(link, data=FINDINGS, timeout=10)
    customer_link(stack, accepted)

    view = wait_for(
        lambda: (
            (
                found := requests.get(
                    accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10
                ).json()
            )["status"]
            == "CLOSED"
            and found
        ),
        timeout=120,
        what="the case to close itself",
    )

    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "SUCCEEDED"
    view = wait_for_status(stack, accepted, "CLOSED")
    assert [e["type"] for e in view["timeline"]][-2:] == ["NO_ANSWER", "CLOSED"]
    entered = states_entered(history(stack, accepted["complaintId"]))
    assert entered[-4:] == [
        "Wait for the customer's answer",
        "No answer in time",
        "Close case",
        "Case closed",
    ]


def test_no_then_the_reopened_case_is_resolved_and_closes(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    requests.post(link, data=FINDINGS, timeout=10)
    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "no", "rating": "2"}, timeout=10
    ).ok
    lead = ROSTER[view["department"]].lead
    lead_link = task_link(wait_for_email(stack, lead.email, accepted["complaintId"]))
    assert requests.post(lead_link, data={**FINDINGS, "summary": "Second look: bank delay."}, timeout=10).ok
    assert requests.post(
        customer_link(stack, accepted, 2), data={"resolved": "yes", "rating": "4"}, timeout=10
    ).ok

    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "SUCCEEDED"
    entered = states_entered(history(stack, accepted["complaintId"]))
    first_round = [
        "Wait for investigator",
        "Findings or a question?",
        "Record findings",
        "Decide approval level",
        "Needs approval?",
        "Apply remedy",
        "Wait for the customer's answer",
        "Record the customer's answer",
        "What does the customer say?",
    ]
    second_round = ["Wait for department lead", *first_round[1:]]
    assert entered == [
        "Start or resume?",
        "Send acknowledgement",
        "Triage complaint",
        "Duplicate of an open case?",
        "Watch for spikes",
        "Gather evidence",
        "Set investigation clocks",
        *first_round,
        *second_round,
        "Close case",
        "Case closed",
    ]
    view = wait_for_status(stack, accepted, "CLOSED")
    types = [e["type"] for e in view["timeline"]]
    assert types.count("REMEDY_APPLIED") == 2
    assert types[-2:] == ["CUSTOMER_CONFIRMED", "CLOSED"]


def test_findings_that_reach_no_waiting_task_are_kept_and_taken_up_by_the_reminder(quicker_stack: Stack):
    """The wait ends in the instant between the investigator's POST and SendTaskSuccess (a fault armed on
    the stack answers TaskTimedOut there): the page says the findings are recorded, and the reminder's
    wait takes them at once: no reminder email, the case goes on to the customer and closes."""
    stack = quicker_stack
    accepted = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": f"late.{uuid.uuid4().hex[:8]}@example.com"},
            "description": "Rude agent.",
        },
        timeout=10,
    ).json()
    link, view = investigator_link(stack, accepted)
    armed = requests.post(
        f"{stack.base_url}/_local/faults",
        json={"operation": "SendTaskSuccess", "error": "TaskTimedOut", "count": 1},
        timeout=10,
    )
    assert armed.status_code == 200, armed.text

    answer = requests.post(link, data=FINDINGS, timeout=10)

    assert answer.status_code == 202
    assert "Your answer is recorded" in answer.text
    assert requests.get(link, timeout=10).status_code == 409  # answered: nothing more to do
    customer_link(stack, accepted)  # the findings reached the customer without a second answer
    view = wait_for_status(stack, accepted, "AWAITING_CONFIRMATION", "CLOSED")
    types = [e["type"] for e in view["timeline"]]
    assert "ANSWER_HANDED_ON" in types and "REMINDER_SENT" not in types, types
    assert types.index("ANSWER_HANDED_ON") < types.index("FINDINGS_RECORDED")
    person = next(p for p in ROSTER[view["department"]].investigators if p.name == view["assignee"])
    to_investigator = [
        m for m in stack.mailbox() if person.email in m["to"] and accepted["complaintId"] in m["subject"]
    ]
    assert len(to_investigator) == 1  # the first email only: no reminder, nobody asked twice
    entered = states_entered(history(stack, accepted["complaintId"]))
    assert entered[entered.index("Wait for investigator") :][:4] == [
        "Wait for investigator",
        "Wait for investigator after reminder",
        "Findings or a question?",
        "Record findings",
    ]
