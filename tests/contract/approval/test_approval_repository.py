"""approval.ports.ApprovalRepository: the approver's link, approve and reject (version-checked), and kept
answers, on FakeInvestigationRepository and DynamoInvestigationRepository."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.approval.ports import ApprovalRepository
from complaints.core.errors import ConflictError
from complaints.core.models import Status
from complaints.core.tasks import LinkStatus
from tests.contract.support import (
    CASE_TABLE,
    Contract,
    Subject,
    at,
    event,
    findings,
    link,
    make_subject,
    store,
    tally,
)
from tests.contract.tasklinks.test_link_repository import (
    get_link_reads_the_link_as_stored,
    hand_on_without_a_kept_answer_raises_conflict,
    keep_answer_then_hand_on_once,
)
from tests.fakes import FakeInvestigationRepository

CONTRACT = Contract(
    ApprovalRepository,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
    cases=[
        get_link_reads_the_link_as_stored,
        keep_answer_then_hand_on_once,
        hand_on_without_a_kept_answer_raises_conflict,
    ],
)
ID = "CMP-20260305-AAAAAA"


def _awaiting(s: Subject):
    return store(s, ID, status=Status.AWAITING_APPROVAL, findings=findings().model_dump(mode="json"))


@CONTRACT.case
def put_link_of_an_approver_sets_the_level_it_waits_at(s: Subject) -> None:
    _awaiting(s)
    s.repo.put_link(link("a1", ID, kind="approve", level="lead"), None, event("APPROVAL_ASKED", 1), tally())
    s.repo.put_link(
        link("a2", ID, kind="approve", level="head", recipient_name="Hal Head"), "a1", event("ESCALATED", 2)
    )
    stored, events = s.repo.get(ID)
    assert (stored.approval_link_id, stored.approval_level, stored.version) == ("a2", "head", 1)
    assert [e.type for e in events][-2:] == ["APPROVAL_ASKED", "ESCALATED"]
    old = s.repo.get_link("a1")
    assert (old.status, old.held_by) == (LinkStatus.SUPERSEDED, "Hal Head")
    with pytest.raises(ConflictError):
        s.repo.put_link(link("a2", ID, kind="approve", level="head"), None, event("ESCALATED", 3))


@CONTRACT.case
def mark_notified_records_when_the_email_went(s: Subject) -> None:
    _awaiting(s)
    s.repo.put_link(link("a1", ID, kind="approve", level="lead"), None, event("APPROVAL_ASKED", 1))
    assert s.repo.get_link("a1").notified_at is None
    s.repo.mark_notified("a1", at(2))
    assert s.repo.get_link("a1").notified_at == at(2)
    with pytest.raises(ConflictError):
        s.repo.mark_notified("no-such-link", at(2))


@CONTRACT.case
def approve_moves_to_resolving_once(s: Subject) -> None:
    case = _awaiting(s)
    s.repo.approve(case, event("APPROVED", 1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.version, stored.updated_at, stored.rejection_comment) == (
        Status.RESOLVING,
        2,
        at(1),
        None,
    )
    assert stored.findings == findings().model_dump(mode="json")
    assert events[-1].type == "APPROVED"
    with pytest.raises(ConflictError):  # stale: a second approver at once
        s.repo.approve(case, event("APPROVED", 2))
    with pytest.raises(ConflictError):
        s.repo.reject(case, "no", event("REJECTED", 2))
    assert [e.type for e in s.repo.get(ID)[1]].count("APPROVED") == 1


@CONTRACT.case
def reject_sends_it_back_without_findings(s: Subject) -> None:
    case = _awaiting(s)
    s.repo.reject(case, "Check the second charge", event("REJECTED", 1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.findings, stored.rejection_comment, stored.version) == (
        Status.INVESTIGATING,
        None,
        "Check the second charge",
        2,
    )
    assert events[-1].type == "REJECTED"
    with pytest.raises(ConflictError):
        s.repo.reject(case, "again", event("REJECTED", 2))
    assert s.repo.get(ID)[0].rejection_comment == "Check the second charge"


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_approval_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
