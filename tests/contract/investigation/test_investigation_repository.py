"""investigation.ports.InvestigationRepository: FakeInvestigationRepository and
DynamoInvestigationRepository pass the same cases (the link cases of tasklinks included)."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core import changes
from complaints.core.conversation import Message
from complaints.core.errors import ConflictError, TransientError
from complaints.core.models import Case, Status
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
def start_investigation_is_retried_when_a_file_took_the_chains_next_place(s: Subject) -> None:
    """A file the complainant sent between the step's read of the chain and its write: nothing changes, and
    the step is retried (TransientError) to chain after the file; it is not taken for "started before"."""
    case = store(s, ID, status=Status.TRIAGED)
    upload = Message(key="upload-1", at=at(1), channel="web", author="customer", text="")
    assert s.raw.add_message(ID, upload, event("MESSAGE_RECEIVED", 1), evidence_items(1))  # intake's port
    with pytest.raises(TransientError):
        s.repo.start_investigation(case, evidence_items(2), event("INVESTIGATING", 2))
    stored, events = s.repo.get(ID)
    assert stored.status == Status.TRIAGED
    assert [e.type for e in events] == ["RECEIVED", "MESSAGE_RECEIVED"]
    assert s.repo.evidence(ID) == evidence_items(1)


@CONTRACT.case
def a_message_from_the_complainant_does_not_stop_a_step_that_read_the_case_before_it(s: Subject) -> None:
    """Messages are counted on the case without a new version: the workflow's version-checked writes do not
    fail because the complainant wrote at that moment."""
    case = store(s, ID, status=Status.INVESTIGATING)
    note = Message(key="web-1", at=at(1), channel="web", author="customer", text="One more thing.")
    assert s.raw.add_message(ID, note, event("MESSAGE_RECEIVED", 1))  # intake's port
    s.repo.record_findings(case, findings(), Status.RESOLVING, event("FINDINGS", 2))
    stored = s.repo.get(ID)[0]
    assert (stored.status, stored.message_count, stored.version) == (Status.RESOLVING, 1, 2)


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


QUESTION = "Which card did you pay with?"


def asked(s: Subject, case: Case, level: str = "investigator") -> Message:
    """`case` (INVESTIGATING) asks its complainant QUESTION at minute 5; the question's message."""
    message = Message(key="question-1", at=at(5), channel="email", author="staff", text=QUESTION)
    s.repo.ask_customer(case, changes.asked_customer(QUESTION, level, at(5)), event("SLA_PAUSED", 5), message)
    return message


@CONTRACT.case
def ask_customer_adds_the_question_and_pauses_the_case_at_once(s: Subject) -> None:
    case = store(s, ID, status=Status.INVESTIGATING)
    message = asked(s, case, "lead")
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.question, stored.question_level) == (
        Status.AWAITING_CUSTOMER,
        QUESTION,
        "lead",
    )
    assert (stored.question_asked_at, stored.sla_paused_at, stored.question_token) == (at(5), at(5), None)
    assert (stored.message_count, stored.last_message_at, stored.version) == (1, at(5), 2)
    assert events[-1].type == "SLA_PAUSED"
    assert s.raw.messages(ID) == [message]
    with pytest.raises(ConflictError):  # stale: version 1; nothing of it is written
        other = Message(key="question-2", at=at(6), channel="email", author="staff", text="Again?")
        s.repo.ask_customer(
            case, changes.asked_customer("Again?", "lead", at(6)), event("SLA_PAUSED", 6), other
        )
    assert [m.key for m in s.raw.messages(ID)] == ["question-1"]
    assert s.repo.get(ID)[0].question == QUESTION


@CONTRACT.case
def wait_for_answer_stores_the_waiting_task_version_checked(s: Subject) -> None:
    asked(s, store(s, ID, status=Status.INVESTIGATING))
    waiting = s.repo.get(ID)[0]
    s.repo.wait_for_answer(waiting, changes.waiting_on("token-1"), None)
    stored, events = s.repo.get(ID)
    assert (stored.question_token, stored.version, len(events)) == ("token-1", 3, 2)
    s.repo.wait_for_answer(stored, changes.question_notified(1), event("QUESTION_REMINDED", 7))
    assert s.repo.get(ID)[0].question_notified == 1
    assert s.repo.get(ID)[1][-1].type == "QUESTION_REMINDED"
    with pytest.raises(ConflictError):
        s.repo.wait_for_answer(waiting, changes.waiting_on("token-2"), None)
    assert s.repo.get(ID)[0].question_token == "token-1"


@CONTRACT.case
def resume_investigation_moves_the_resolution_target_and_not_the_deadline(s: Subject) -> None:
    case = store(s, ID, status=Status.INVESTIGATING, priority="P3", resolution_due_at=at(600))
    asked(s, case)
    waiting = s.repo.get(ID)[0]
    s.repo.resume_investigation(
        waiting, changes.resumed(waiting, at(65), 1.0), event("SLA_RESUMED", 65), tally(waits=1)
    )
    stored, events = s.repo.get(ID)
    assert stored.status == Status.INVESTIGATING
    assert stored.resolution_due_at == at(660)  # 60 minutes later, the hour it waited
    assert stored.response_due_at == case.response_due_at
    assert (stored.sla_paused_at, stored.sla_paused_seconds, stored.question_token) == (None, 3600, None)
    assert events[-1].type == "SLA_RESUMED"
    with pytest.raises(ConflictError):  # resumed once
        s.repo.resume_investigation(waiting, changes.resumed(waiting, at(70), 1.0), event("SLA_RESUMED", 70))
    assert s.repo.get(ID)[0].resolution_due_at == at(660)


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_investigation_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
