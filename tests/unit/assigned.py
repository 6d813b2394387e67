"""A case triaged and assigned on the in-memory fakes, with the services that take it on: the starting
point of the investigation, approval and link-page tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from complaints.approval.service import ApprovalService
from complaints.classification.classifier import RuleClassifier
from complaints.classification.taxonomy import load_taxonomy
from complaints.core.models import Case, ComplaintIn, Status
from complaints.investigation.service import InvestigationService
from complaints.tasklinks.pages import TaskPages
from complaints.triage.service import TriageService
from tests.fakes import FakeCallbacks, FakeInvestigationRepository, make_settings

KEY = b"unit-test-signing-key"
TOKEN = "task-token-SECRET-1"
START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # the FakeClock's start
REFUND_150 = {
    "summary": "The bank returned the withdrawal.",
    "remedy": "refund",
    "amount": "150.00",
    "currency": "CNY",
    "customerMessage": "We refund the 150 CNY.",
}
EXPLANATION = {
    "summary": "The withdrawal is on its way.",
    "remedy": "explanation",
    "customerMessage": "Your bank takes three days.",
}


class Source:
    """An evidence source holding fixed (reference, data) pairs; counts how often it is asked."""

    def __init__(self, name: str, found: list[tuple[str, dict[str, Any]]]):
        self.name = name
        self._found = found
        self.asked = 0

    def fetch(self, case: Case) -> list[tuple[str, dict[str, Any]]]:
        self.asked += 1
        return list(self._found)


@pytest.fixture
def repository() -> FakeInvestigationRepository:
    return FakeInvestigationRepository()


@pytest.fixture
def settings():
    return make_settings(time_scale=60.0)


@pytest.fixture
def callbacks() -> FakeCallbacks:
    return FakeCallbacks()


@pytest.fixture
def sources() -> list[Source]:
    return [
        Source("records", [("transactionId:TX-1", {"status": "PENDING_AT_BANK"})]),
        Source("earlier-complaints", [("CMP-1", {"status": "CLOSED"}), ("CMP-2", {"status": "CLOSED"})]),
    ]


@pytest.fixture
def service(repository, sources, mailer, triage_policy, settings, callbacks, clock) -> InvestigationService:
    return InvestigationService(
        repository,
        sources,
        mailer,
        triage_policy,
        settings,
        KEY,
        callbacks,
        clock=clock,
        conversation=repository,
    )


@pytest.fixture
def approval(repository, mailer, triage_policy, settings, callbacks, clock) -> ApprovalService:
    return ApprovalService(repository, mailer, triage_policy, settings, KEY, callbacks, clock=clock)


@pytest.fixture
def pages(repository, callbacks, clock) -> TaskPages:
    return TaskPages(repository, KEY, callbacks, clock=clock, conversation=repository)


@pytest.fixture
def complaint_id(intake, repository, policy, triage_policy, mailer, settings, clock) -> str:
    """A TRIAGED payments case of finance, assigned to Wang Fang (fin-wang)."""
    taxonomy = load_taxonomy()
    triage = TriageService(
        repository, RuleClassifier(taxonomy), taxonomy, policy, triage_policy, mailer, settings, clock=clock
    )
    document = {
        "customer": {"email": "alice@example.com"},
        "description": "My withdrawal of 150 has not arrived in my bank account.",
        "amount": {"value": "150.00", "currency": "CNY"},
    }
    submission = intake.submit(ComplaintIn.model_validate(document))
    complaint_id = submission.accepted.complaintId
    triage.triage(complaint_id)
    case, _ = repository.get(complaint_id)
    assert (case.status, case.department, case.assignee) == (Status.TRIAGED, "finance", "fin-wang")
    mailer.sent.clear()
    return complaint_id


def link_of(email) -> tuple[str, str]:
    """(link id, sig) of the one task link in an email."""
    (found,) = set(re.findall(r"https://api\.example/tasks/([\w-]+)\?sig=([0-9a-f]+)", email.text))
    return found


def investigating(repository, complaint_id: str) -> None:
    stored = repository.cases[complaint_id]
    repository.cases[complaint_id] = stored.model_copy(update={"status": Status.INVESTIGATING})


def awaiting_approval(service, repository, complaint_id: str, findings: dict) -> None:
    investigating(repository, complaint_id)
    service.record_findings(complaint_id, findings)
    assert repository.cases[complaint_id].status == Status.AWAITING_APPROVAL
