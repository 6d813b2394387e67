"""tasklinks.ports.LinkRepository (and KeptAnswers): a link answered exactly once, an answer kept for the
step's next task and handed on once. FakeInvestigationRepository and DynamoInvestigationRepository.

The link cases are shared with the ports that hand on kept answers (approval, investigation)."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import CaseNotFound, ConflictError
from complaints.core.models import Status
from complaints.core.tasks import LinkStatus
from complaints.tasklinks.ports import LinkRepository
from tests.contract.support import (
    CASE_TABLE,
    Contract,
    Subject,
    at,
    event,
    evidence_items,
    link,
    make_subject,
    store,
)
from tests.fakes import FakeInvestigationRepository

CONTRACT = Contract(
    LinkRepository,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
)
ID = "CMP-20260305-AAAAAA"


def _with_link(s: Subject, link_id: str = "l1") -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.raw.put_link(link(link_id, ID), None, event("LINK_SENT", 1))


@CONTRACT.case
def complete_link_answers_an_open_link_exactly_once(s: Subject) -> None:
    _with_link(s)
    answer = {"decision": "approve", "amount": 12.5, "notes": ["a", "b"]}
    assert s.repo.complete_link("l1", at(2), answer) is True
    assert s.repo.complete_link("l1", at(3), {"decision": "reject"}) is False
    done = s.repo.get_link("l1")
    assert (done.status, done.decided_at, done.answer) == (LinkStatus.DONE, at(2), answer)
    assert s.repo.complete_link("no-such-link", at(3), {}) is False


@CONTRACT.case
def keep_answer_or_supersede_of_an_unknown_link_is_a_conflict(s: Subject) -> None:
    """A link id that names no link (a case pointing at a lost link) is a conflict, and no half link (a
    key with only `kept` or `status` on it, which get_link could not read) is written."""
    _with_link(s)
    before = s.repo.get(ID)
    with pytest.raises(ConflictError):
        s.repo.keep_answer("no-such-link")
    with pytest.raises(ConflictError):
        s.raw.put_link(link("l2", ID), "no-such-link", event("LINK_SENT", 2))
    assert s.repo.get_link("no-such-link") is None
    assert s.repo.get_link("l2") is None
    assert s.repo.get(ID) == before


@CONTRACT.case
def complete_link_refuses_a_superseded_link(s: Subject) -> None:
    _with_link(s)
    s.raw.put_link(link("l2", ID, recipient_name="Lee Lead"), "l1", event("LINK_SENT", 2))
    assert s.repo.complete_link("l1", at(3), {"decision": "approve"}) is False
    old = s.repo.get_link("l1")
    assert (old.status, old.held_by, old.answer) == (LinkStatus.SUPERSEDED, "Lee Lead", None)
    assert s.repo.complete_link("l2", at(3), {"decision": "approve"}) is True


@CONTRACT.case
def get_link_reads_the_link_as_stored(s: Subject) -> None:
    _with_link(s)
    assert s.repo.get_link("l1") == link("l1", ID)
    assert s.repo.get_link("no-such-link") is None


@CONTRACT.case
def keep_answer_then_hand_on_once(s: Subject) -> None:
    _with_link(s)
    s.raw.complete_link("l1", at(2), {"decision": "approve"})
    s.repo.keep_answer("l1")
    assert s.repo.get_link("l1").kept is True
    s.repo.hand_on("l1", event("ANSWER_HANDED_ON", 3))
    handed = s.repo.get_link("l1")
    assert (handed.kept, handed.answer) == (False, {"decision": "approve"})
    assert s.repo.get(ID)[1][-1].type == "ANSWER_HANDED_ON"
    with pytest.raises(ConflictError):  # nothing kept any more
        s.repo.hand_on("l1", event("ANSWER_HANDED_ON", 4))
    assert [e.type for e in s.repo.get(ID)[1]].count("ANSWER_HANDED_ON") == 1


@CONTRACT.case
def hand_on_without_a_kept_answer_raises_conflict(s: Subject) -> None:
    _with_link(s)
    with pytest.raises(ConflictError):
        s.repo.hand_on("l1", event("ANSWER_HANDED_ON", 2))
    assert [e.type for e in s.repo.get(ID)[1]] == ["RECEIVED", "LINK_SENT"]


@CONTRACT.case
def evidence_and_case_reads(s: Subject) -> None:
    case = store(s, ID, status=Status.TRIAGED)
    assert s.repo.evidence(ID) == []
    items = evidence_items(3)
    assert s.raw.start_investigation(case, items, event("INVESTIGATING", 1)) is True
    assert s.repo.evidence(ID) == items
    assert s.repo.get(ID)[0].status == Status.INVESTIGATING
    with pytest.raises(CaseNotFound):
        s.repo.get("CMP-NOSUCH")


LINK_CASES = [
    complete_link_answers_an_open_link_exactly_once,
    complete_link_refuses_a_superseded_link,
    get_link_reads_the_link_as_stored,
    keep_answer_then_hand_on_once,
    hand_on_without_a_kept_answer_raises_conflict,
]


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_link_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
