"""What each state change after triage sets on a case, in the case model's fields: said once, for the
DynamoDB adapter and the in-memory fake alike (each applies them its own way, in one version-checked
write with the change's event)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from complaints.core.models import Case, Status
from complaints.core.tasks import CustomerAnswer

# The case field that holds the id of its open link of each kind.
LINK_FIELD = {
    "investigate": "investigation_link_id",
    "approve": "approval_link_id",
    "confirm": "confirm_link_id",
}


def approved() -> dict[str, Any]:
    return {"status": Status.RESOLVING.value, "rejection_comment": None}


def rejected(comment: str) -> dict[str, Any]:
    """Back to the investigator, without the findings, with the approver's comment."""
    return {"status": Status.INVESTIGATING.value, "findings": None, "rejection_comment": comment}


def remedy_applied(case: Case, reference: str, at: datetime) -> dict[str, Any]:
    """The case's n-th remedy (a reopened case's next one is another)."""
    return {"remedy_ref": reference, "remedy_count": case.remedy_count + 1, "remedy_applied_at": at}


def awaiting_confirmation(at: datetime) -> dict[str, Any]:
    return {"status": Status.AWAITING_CONFIRMATION.value, "resolution_sent_at": at}


def answered(answer: CustomerAnswer | None) -> dict[str, Any]:
    """The customer's rating and answer (no answer in time: nothing)."""
    return {} if answer is None else {"csat_rating": answer.rating, "customer_resolved": answer.resolved}


def reopened(answer: CustomerAnswer) -> dict[str, Any]:
    """The customer's "no": back to investigation without the findings and the remedy, reopened once."""
    reset = {"reopened": True, "findings": None, "remedy_ref": None, "status": Status.INVESTIGATING.value}
    return answered(answer) | reset


def final_response_sent(at: datetime) -> dict[str, Any]:
    return {"final_response_sent_at": at}


def asked_customer(question: str, level: str, at: datetime) -> dict[str, Any]:
    """The investigator's question went to the complainant: the case waits for them, its SLA paused."""
    return {
        "status": Status.AWAITING_CUSTOMER.value,
        "question": question,
        "question_level": level,
        "question_asked_at": at,
        "question_token": None,
        "question_notified": 0,
        "sla_paused_at": at,
    }


def waiting_on(token: str) -> dict[str, Any]:
    """The task that now waits for the answer (the question's, then the reminder's)."""
    return {"question_token": token}


def question_notified(emails: int) -> dict[str, Any]:
    """The question's emails sent: 1, the question; 2, its reminder too."""
    return {"question_notified": emails}


def resumed(case: Case, at: datetime, time_scale: float) -> dict[str, Any]:
    """The investigation goes on: the resolution target moves on by the policy time the case waited for the
    complainant; the regulatory deadline stays."""
    paused = paused_seconds(case, at, time_scale)
    due = case.resolution_due_at + timedelta(seconds=paused) if case.resolution_due_at else None
    return {
        "status": Status.INVESTIGATING.value,
        "question_token": None,
        "sla_paused_at": None,
        "sla_paused_seconds": case.sla_paused_seconds + paused,
        "resolution_due_at": due,
    }


def paused_seconds(case: Case, at: datetime, time_scale: float) -> float:
    """Policy seconds the case has waited for the complainant in its current pause (0 if none)."""
    if case.sla_paused_at is None:
        return 0.0
    return max((at - case.sla_paused_at).total_seconds(), 0.0) * time_scale
