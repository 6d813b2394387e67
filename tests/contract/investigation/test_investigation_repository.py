"""investigation.ports.InvestigationRepository: FakeInvestigationRepository and
DynamoInvestigationRepository pass the same cases (the link cases of tasklinks included)."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import ConflictError
from complaints.core.models import Status
from complaints.core.tasks import LinkStatus
from complaints.investigation.ports import InvestigationRepository
from tests.contract.support import (
    CASE_TABLE,
    Contract,
    Subject,
    at,
    event,
    evidence_items,
    findings,
    link,
    make_subject,
    store,
    tally,
)
from tests.contract.tasklinks.test_link_repository import LINK_CASES
from tests.fakes import FakeInvestigationRepository

CONTRACT = Contract(
    InvestigationRepository,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
    cases=list(LINK_CASES),
)
ID = "CMP-20260305-AAAAAA"


@CONTRACT.case
def start_investigation_stores_the_chain_and_starts_once(s: Subject) -> None:
    case = store(s, ID, status=Status.TRIAGED)
    items = evidence_items(3)
    assert s.repo.start_investigation(case, items, event("INVESTIGATING", 1)) is True
    assert s.repo.start_investigation(case, evidence_items(1), event("INVESTIGATING", 2)) is False
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.version, stored.updated_at) == (Status.INVESTIGATING, 2, at(1))
    assert [e.type for e in events] == ["RECEIVED", "INVESTIGATING"]
    assert s.repo.evidence(ID) == items


@CONTRACT.case
def start_investigation_needs_a_triaged_case(s: Subject) -> None:
    case = store(s, ID)  # RECEIVED
    assert s.repo.start_investigation(case, evidence_items(2), event("INVESTIGATING", 1)) is False
    assert s.repo.evidence(ID) == []
    assert s.repo.get(ID)[0].status == Status.RECEIVED


@CONTRACT.case
def start_investigation_keeps_at_most_ninety_items(s: Subject) -> None:
    case = store(s, ID, status=Status.TRIAGED)
    items = evidence_items(95)
    assert s.repo.start_investigation(case, items, event("INVESTIGATING", 1)) is True
    assert s.repo.evidence(ID) == items[:90]


@CONTRACT.case
def put_link_points_the_case_at_its_new_link(s: Subject) -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.repo.put_link(link("l1", ID), None, event("LINK_SENT", 1), tally(links=1))
    stored, events = s.repo.get(ID)
    assert (stored.investigation_link_id, stored.updated_at, stored.version) == ("l1", at(1), 1)
    assert events[-1].type == "LINK_SENT"
    assert s.repo.get_link("l1") == link("l1", ID)
    with pytest.raises(ConflictError):  # a link id is used once
        s.repo.put_link(link("l1", ID, token="other"), None, event("LINK_SENT", 2))
    assert s.repo.get_link("l1").token == "token-l1"
    assert len(s.repo.get(ID)[1]) == 2


@CONTRACT.case
def put_link_supersedes_the_link_it_replaces(s: Subject) -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.repo.put_link(link("l1", ID), None, event("LINK_SENT", 1))
    s.repo.put_link(link("l2", ID, recipient_name="Lee Lead", level="lead"), "l1", event("LINK_SENT", 2))
    assert s.repo.get(ID)[0].investigation_link_id == "l2"
    old = s.repo.get_link("l1")
    assert (old.status, old.held_by) == (LinkStatus.SUPERSEDED, "Lee Lead")
    assert s.repo.get_link("l2").status == LinkStatus.OPEN


@CONTRACT.case
def put_link_for_an_unknown_case_raises_conflict_and_stores_no_link(s: Subject) -> None:
    with pytest.raises(ConflictError):
        s.repo.put_link(link("l1", "CMP-NOSUCH"), None, event("LINK_SENT", 1))
    assert s.repo.get_link("l1") is None


@CONTRACT.case
def rebind_link_makes_it_a_reminder_not_yet_mailed(s: Subject) -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.repo.put_link(link("l1", ID), None, event("LINK_SENT", 1))
    s.repo.mark_notified("l1", at(2))
    assert s.repo.get_link("l1").notified_at == at(2)
    s.repo.rebind_link("l1", "token-2", at(60 * 24 * 10), event("REMINDER", 3))
    rebound = s.repo.get_link("l1")
    assert (rebound.token, rebound.expires_at, rebound.reminded, rebound.notified_at) == (
        "token-2",
        at(60 * 24 * 10),
        True,
        None,
    )
    assert s.repo.get(ID)[1][-1].type == "REMINDER"


@CONTRACT.case
def mark_notified_of_an_unknown_link_raises_conflict(s: Subject) -> None:
    with pytest.raises(ConflictError):
        s.repo.mark_notified("no-such-link", at(1))
    assert s.repo.get_link("no-such-link") is None


@CONTRACT.case
def record_findings_is_version_checked(s: Subject) -> None:
    case = store(s, ID, status=Status.INVESTIGATING)
    s.repo.record_findings(case, findings(), Status.AWAITING_APPROVAL, event("FINDINGS", 1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.version, stored.updated_at) == (Status.AWAITING_APPROVAL, 2, at(1))
    assert stored.findings == findings().model_dump(mode="json")
    assert events[-1].type == "FINDINGS"
    with pytest.raises(ConflictError):  # stale: version 1
        s.repo.record_findings(case, findings(summary="Other"), Status.RESOLVING, event("FINDINGS", 2))
    assert s.repo.get(ID)[0].findings["summary"] == "Charged twice by the processor."


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_investigation_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
