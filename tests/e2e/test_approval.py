"""Tiered approval by email link, on the running stack: one approval; reject, then approve; and, on a
fast-clock stack, no decision at any level -> NEEDS_ATTENTION."""

from __future__ import annotations

import requests

from complaints.core.rules import load_triage_policy
from tests.e2e.conftest import Stack
from tests.support.driver import (
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

POLICY = load_triage_policy()
BEFORE_FINDINGS = [
    "Start or resume?",
    "Send acknowledgement",
    "Triage complaint",
    "Duplicate of an open case?",
    "Watch for spikes",
    "Gather evidence",
    "Set investigation clocks",
    "Wait for investigator",
]
REFUND = {
    "summary": "The bank returned the payout; we pay it again.",
    "remedy": "refund",
    "amount": "1500.00",
    "currency": "CNY",
    "customerMessage": "We are paying your withdrawal again; it reaches your bank within two days.",
}


def test_a_refund_over_1000_needs_a_manager_who_approves_it(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    assert requests.post(link, data=REFUND, timeout=10).status_code == 200

    manager = POLICY.roster[view["department"]].approvers["manager"]
    request = wait_for_email(stack, manager.email, accepted["complaintId"])
    approval_link = task_link(request)
    assert "1500.00 CNY" in request["text"]
    page = requests.get(approval_link, timeout=10)
    assert page.status_code == 200
    assert 'value="approve"' in page.text and 'value="reject"' in page.text
    assert wait_for_status(stack, accepted, "AWAITING_APPROVAL")  # GET decided nothing

    decided = requests.post(approval_link, data={"decision": "approve", "comment": "ok"}, timeout=10)

    assert decided.status_code == 200
    view = wait_for_status(stack, accepted, "AWAITING_CONFIRMATION")
    types = [e["type"] for e in view["timeline"]]
    assert types[types.index("APPROVAL_REQUESTED") :] == [
        "APPROVAL_REQUESTED",
        "APPROVED",
        "REMEDY_APPLIED",
        "RESOLUTION_SENT",
    ]
    assert manager.name in next(e["detail"] for e in view["timeline"] if e["type"] == "APPROVED")
    assert states_entered(history(stack, accepted["complaintId"]))[-7:] == [
        "Decide approval level",
        "Needs approval?",
        "Wait for approver",
        "Record decision",
        "Approved?",
        "Apply remedy",
        "Wait for the customer's answer",
    ]
    assert (
        requests.post(approval_link, data={"decision": "reject", "comment": "x"}, timeout=10).status_code
        == 409
    )

    # The customer confirms; the whole path, one transition per state.
    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "yes", "rating": "5"}, timeout=10
    ).ok
    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "SUCCEEDED"
    assert states_entered(history(stack, accepted["complaintId"])) == [
        *BEFORE_FINDINGS,
        "Findings or a question?",
        "Record findings",
        "Decide approval level",
        "Needs approval?",
        "Wait for approver",
        "Record decision",
        "Approved?",
        "Apply remedy",
        "Wait for the customer's answer",
        "Record the customer's answer",
        "What does the customer say?",
        "Close case",
        "Case closed",
    ]
    assert wait_for_status(stack, accepted, "CLOSED")


def test_a_rejection_goes_back_to_the_investigator_with_the_comment(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    requests.post(link, data={**REFUND, "amount": "500.00"}, timeout=10)
    supervisor = POLICY.roster[view["department"]].approvers["supervisor"]
    approval_link = task_link(wait_for_email(stack, supervisor.email, accepted["complaintId"]))

    no_comment = requests.post(approval_link, data={"decision": "reject"}, timeout=10)
    assert no_comment.status_code == 422  # a rejection needs a reason; nothing decided yet
    rejected = requests.post(
        approval_link,
        data={"decision": "reject", "comment": "Check the bank's return code first."},
        timeout=10,
    )
    assert rejected.status_code == 200

    person = next(p for p in POLICY.roster[view["department"]].investigators if p.name == view["assignee"])
    returned = wait_for(
        lambda: next(
            (m for m in stack.mailbox() if person.email in m["to"] and "return code" in m["text"]), None
        ),
        what="the investigator's second request",
    )
    second_link = task_link(returned)
    assert second_link != link
    assert requests.get(link, timeout=10).status_code == 409  # the first findings link was used
    assert requests.post(second_link, data={**REFUND, "amount": "500.00"}, timeout=10).status_code == 200
    approval_again = wait_for(
        lambda: [
            m
            for m in stack.mailbox()
            if supervisor.email in m["to"] and accepted["complaintId"] in m["subject"]
        ][1:],
        what="a second approval request",
    )
    assert (
        requests.post(task_link(approval_again[0]), data={"decision": "approve"}, timeout=10).status_code
        == 200
    )

    view = wait_for_status(stack, accepted, "AWAITING_CONFIRMATION")
    types = [e["type"] for e in view["timeline"]]
    assert types.count("FINDINGS_RECORDED") == 2
    assert types.index("REJECTED") < types.index("APPROVED")
    assert requests.post(
        customer_link(stack, accepted), data={"resolved": "yes", "rating": "3"}, timeout=10
    ).ok
    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "SUCCEEDED"
    approval_round = [
        "Findings or a question?",
        "Record findings",
        "Decide approval level",
        "Needs approval?",
        "Wait for approver",
        "Record decision",
        "Approved?",
    ]
    assert states_entered(history(stack, accepted["complaintId"])) == [
        *BEFORE_FINDINGS,
        *approval_round,
        "Wait for investigator",
        *approval_round,
        "Apply remedy",
        "Wait for the customer's answer",
        "Record the customer's answer",
        "What does the customer say?",
        "Close case",
        "Case closed",
    ]


def test_no_decision_at_any_level_ends_in_needs_attention(fast_stack: Stack):
    stack = fast_stack
    accepted = submit_payment_complaint(stack)
    link, view = investigator_link(stack, accepted)
    requests.post(link, data={**REFUND, "amount": "150.00"}, timeout=10)

    view = wait_for_status(stack, accepted, "NEEDS_ATTENTION")

    approvers = POLICY.roster[view["department"]].approvers
    asked = [
        level
        for level in ("supervisor", "manager", "director")
        if any(
            approvers[level].email in m["to"] and accepted["complaintId"] in m["subject"]
            for m in stack.mailbox()
        )
    ]
    assert asked == ["supervisor", "manager", "director"]
    supervisor_link = task_link(
        next(
            m
            for m in stack.mailbox()
            if approvers["supervisor"].email in m["to"] and accepted["complaintId"] in m["subject"]
        )
    )
    gone = requests.get(supervisor_link, timeout=10)
    assert gone.status_code == 410
    assert approvers["manager"].name in gone.text
    assert wait_for_execution_end(stack, accepted["complaintId"])["status"] == "FAILED"
    types = [e["type"] for e in wait_for_status(stack, accepted, "NEEDS_ATTENTION")["timeline"]]
    assert types.count("APPROVAL_ESCALATED") == 2
    assert types[-1] == "NEEDS_ATTENTION"
    entered = states_entered(history(stack, accepted["complaintId"]))
    assert entered.count("Wait for approver") == 3
    assert entered[-3:] == ["Approval overdue", "Record failure", "Needs attention"]
