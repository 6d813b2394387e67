"""What a person does in the e2e journeys: file a payment complaint, find the link in an email."""

from __future__ import annotations

import uuid

import requests

from complaints.core.rules import load_triage_policy
from tests.e2e.conftest import Stack, wait_for, wait_for_email, wait_for_status

ROSTER = load_triage_policy().roster


def task_link(email: dict) -> str:
    """The link to a task page in an email."""
    return next(url for url in email["links"] if "/tasks/" in url)


FINDINGS = {
    "summary": "The payout batch was held by the bank; released today.",
    "remedy": "explanation",
    "customerMessage": "Your withdrawal was delayed by the bank and has now been paid out.",
}


def submit_payment_complaint(stack: Stack) -> dict:
    answer = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": f"payer.{uuid.uuid4().hex[:8]}@example.com"},
            "description": "My withdrawal of 150 CNY has not arrived after three days.",
            "references": {"transactionId": "TX-20261119-001"},
            "amount": {"value": "150.00", "currency": "CNY"},
        },
        timeout=10,
    )
    assert answer.status_code == 202
    return answer.json()


def investigator_link(stack: Stack, accepted: dict) -> tuple[str, dict]:
    view = wait_for_status(stack, accepted, "INVESTIGATING")
    person = next(p for p in ROSTER[view["department"]].investigators if p.name == view["assignee"])
    email = wait_for_email(stack, person.email, accepted["complaintId"])
    return task_link(email), view


def customer_link(stack: Stack, accepted: dict, nth: int = 1) -> str:
    view = requests.get(accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()
    email = wait_for(
        lambda: (
            (
                found := [
                    m
                    for m in stack.mailbox()
                    if accepted["complaintId"] in m["subject"] and "what we found" in m["subject"]
                ]
            )
            and len(found) >= nth
            and found[nth - 1]
        ),
        what=f"resolution email {nth} for {view['complaintId']}",
    )
    return task_link(email)
