"""intake.ports.Conversation: the fake (tests/fakes.py) and DynamoCaseRepository pass the same cases."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.core.conversation import FileRef, HeldMail, Message, evidence_of
from complaints.core.errors import ConflictError
from complaints.core.evidence import verify
from complaints.core.ports import Conversation
from tests.contract.support import CASE_TABLE, Contract, Subject, at, event, make_subject, store
from tests.fakes import FakeRepository

CONTRACT = Contract(Conversation, FakeRepository, lambda tables: DynamoCaseRepository(tables[CASE_TABLE]))
ID = "CMP-20260305-AAAAAA"


def message(key: str, minutes: float = 1, **fields) -> Message:
    return Message(
        key=key,
        at=at(minutes),
        channel="email",
        author="customer",
        text=f"text of {key}",
        **fields,
    )


@CONTRACT.case
def a_message_is_added_once_with_its_event_and_counted_on_the_case(s: Subject) -> None:
    store(s, ID)
    file = FileRef(
        filename="slip.png", content_type="image/png", size=3, sha256="ab" * 32, location="s3://b/k"
    )
    first = message("m1", subject="Re: your complaint", files=[file])
    assert s.repo.add_message(ID, first, event("MESSAGE_RECEIVED", 1, channel="email")) is True
    assert s.repo.add_message(ID, first, event("MESSAGE_RECEIVED", 2, channel="email")) is False
    case, events = s.raw.get(ID)
    # Counted, not a new version: a workflow step that read the case a moment before still writes it.
    assert (case.message_count, case.last_message_at, case.version) == (1, at(1), 1)
    assert [e.type for e in events].count("MESSAGE_RECEIVED") == 1
    assert s.repo.messages(ID) == [first]


@CONTRACT.case
def a_messages_files_continue_the_evidence_chain_and_a_taken_place_is_a_conflict(s: Subject) -> None:
    store(s, ID)
    file = FileRef(
        filename="a.pdf", content_type="application/pdf", size=5, sha256="cd" * 32, location="s3://b/a"
    )
    first = message("m1", files=[file])
    items = evidence_of(first, s.repo.evidence(ID), at(1))
    assert s.repo.add_message(ID, first, event("MESSAGE_RECEIVED", 1), items) is True
    assert s.repo.evidence(ID) == items and verify(s.repo.evidence(ID)).intact
    stale = message("m2", 2, files=[file])  # built on the chain as it was before m1: its place is taken
    with pytest.raises(ConflictError):
        s.repo.add_message(ID, stale, event("MESSAGE_RECEIVED", 2), evidence_of(stale, [], at(2)))
    assert [m.key for m in s.repo.messages(ID)] == ["m1"]
    fresh = evidence_of(stale, s.repo.evidence(ID), at(2))
    assert s.repo.add_message(ID, stale, event("MESSAGE_RECEIVED", 2), fresh) is True
    chained = s.repo.evidence(ID)
    assert [i.seq for i in chained] == [0, 1] and verify(chained).intact


@CONTRACT.case
def messages_come_oldest_first(s: Subject) -> None:
    store(s, ID)
    s.repo.add_message(ID, message("late", 5), event("MESSAGE_RECEIVED", 5))
    s.repo.add_message(ID, message("early", 2), event("MESSAGE_RECEIVED", 2))
    assert [m.key for m in s.repo.messages(ID)] == ["early", "late"]
    assert s.raw.get(ID)[0].message_count == 2


@CONTRACT.case
def a_message_for_an_unknown_case_is_a_conflict_and_writes_nothing(s: Subject) -> None:
    with pytest.raises(ConflictError):
        s.repo.add_message("CMP-20260305-NOSUCH", message("m1"), event("MESSAGE_RECEIVED", 1))
    assert s.repo.messages("CMP-20260305-NOSUCH") == []


@CONTRACT.case
def held_mail_is_kept_once_and_listed_newest_first(s: Subject) -> None:
    second = HeldMail(
        key="h2",
        at=at(3),
        reason="other_sender",
        sender="x@example.net",
        claimed_case=ID,
        location="s3://b/2",
    )
    first = HeldMail(
        key="h1", at=at(1), reason="unknown_reply_address", sender="y@example.net", location="s3://b/1"
    )
    assert s.repo.hold_mail(second) is True
    assert s.repo.hold_mail(first) is True
    assert s.repo.hold_mail(first) is False
    assert s.repo.held_mail(10) == [second, first]
    assert s.repo.held_mail(1) == [second]


@CONTRACT.case
def a_sent_mail_maps_back_to_its_case(s: Subject) -> None:
    s.repo.remember_sent_mail("0100018f-ses-id", ID)
    assert s.repo.case_of_sent_mail("0100018f-ses-id") == ID
    assert s.repo.case_of_sent_mail("some-other-id") is None
    assert s.repo.case_of_sent_mail("") is None


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_conversation(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
