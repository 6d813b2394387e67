"""intake.ports.CaseRepository: the fake (tests/fakes.py) and DynamoCaseRepository pass the same cases."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.core.errors import CaseNotFound, ConflictError
from complaints.core.models import Status
from complaints.intake.ports import CaseRepository
from tests.contract.support import (
    CASE_TABLE,
    T0,
    Contract,
    Subject,
    at,
    claim_for,
    event,
    make_subject,
    new_case,
    store,
    tally,
)
from tests.fakes import FakeRepository

CONTRACT = Contract(CaseRepository, FakeRepository, lambda tables: DynamoCaseRepository(tables[CASE_TABLE]))
ID = "CMP-20260305-AAAAAA"


@CONTRACT.case
def create_stores_the_case_and_its_first_event(s: Subject) -> None:
    case = new_case(ID, references={"order": "O-1"})
    assert s.repo.create(case, event("RECEIVED"), claim_for(case), T0, tally()) is None
    stored, events = s.repo.get(ID)
    assert stored == case
    assert [(e.type, e.at) for e in events] == [("RECEIVED", T0)]


@CONTRACT.case
def get_of_an_unknown_case_raises_case_not_found(s: Subject) -> None:
    with pytest.raises(CaseNotFound):
        s.repo.get("CMP-20260305-NOSUCH")


@CONTRACT.case
def create_with_a_live_claim_returns_it_and_stores_nothing(s: Subject) -> None:
    first = new_case(ID)
    s.repo.create(first, event("RECEIVED"), claim_for(first, key="k"), T0)
    second = new_case("CMP-20260305-BBBBBB")
    earlier = s.repo.create(second, event("RECEIVED"), claim_for(second, key="k"), at(1))
    assert earlier == claim_for(first, key="k")
    with pytest.raises(CaseNotFound):
        s.repo.get("CMP-20260305-BBBBBB")


@CONTRACT.case
def create_with_an_expired_claim_takes_it_over(s: Subject) -> None:
    first = new_case(ID)
    s.repo.create(first, event("RECEIVED"), claim_for(first, key="k", expires=at(5)), T0)
    second = new_case("CMP-20260305-BBBBBB", created_at=at(10))
    assert s.repo.create(second, event("RECEIVED", 10), claim_for(second, key="k"), at(10)) is None
    assert s.repo.get("CMP-20260305-BBBBBB")[0].created_at == at(10)


@CONTRACT.case
def create_with_a_used_complaint_id_raises_conflict(s: Subject) -> None:
    store(s, ID)
    again = new_case(ID, description="Another text")
    with pytest.raises(ConflictError):
        s.repo.create(again, event("RECEIVED", 1), claim_for(again, key="other"), at(1))
    assert s.repo.get(ID)[0].description == "The payment was taken twice."


@CONTRACT.case
def mark_started_happens_once(s: Subject) -> None:
    store(s, ID)
    assert s.repo.mark_started(ID, "arn:one", event("STARTED", 1)) is True
    assert s.repo.mark_started(ID, "arn:two", event("STARTED", 2)) is False
    case, events = s.repo.get(ID)
    assert (case.execution_arn, case.version, case.updated_at) == ("arn:one", 2, at(1))
    assert [e.type for e in events] == ["RECEIVED", "STARTED"]


@CONTRACT.case
def mark_started_of_an_unknown_case_is_false(s: Subject) -> None:
    assert s.repo.mark_started("CMP-20260305-NOSUCH", "arn", event("STARTED")) is False


@CONTRACT.case
def unstarted_lists_cases_without_an_execution_oldest_first(s: Subject) -> None:
    store(s, "CMP-B", created_at=at(2))
    store(s, "CMP-A", created_at=at(1))
    store(s, "CMP-C", created_at=at(3))
    store(s, "CMP-LATE", created_at=at(30))
    s.repo.mark_started("CMP-C", "arn:c", event("STARTED", 4))
    assert s.repo.unstarted(at(10), 10) == ["CMP-A", "CMP-B"]
    assert s.repo.unstarted(at(10), 1) == ["CMP-A"]


@CONTRACT.case
def mark_acknowledged_happens_once_and_forgets_the_clear_code(s: Subject) -> None:
    store(s, ID)
    assert s.repo.mark_acknowledged(ID, event("ACKNOWLEDGED", 1)) is True
    assert s.repo.mark_acknowledged(ID, event("ACKNOWLEDGED", 2)) is False
    case, events = s.repo.get(ID)
    assert (case.acknowledged_at, case.pending_access_code, case.version) == (at(1), None, 2)
    assert [e.type for e in events] == ["RECEIVED", "ACKNOWLEDGED"]


@CONTRACT.case
def mark_ack_withheld_happens_once_and_not_after_an_acknowledgement(s: Subject) -> None:
    store(s, ID)
    store(s, "CMP-ACKED")
    assert s.repo.mark_ack_withheld(ID, event("ACK_WITHHELD", 1)) is True
    assert s.repo.mark_ack_withheld(ID, event("ACK_WITHHELD", 2)) is False
    case = s.repo.get(ID)[0]
    assert (case.ack_suppressed_at, case.pending_access_code, case.version) == (at(1), None, 2)
    s.repo.mark_acknowledged("CMP-ACKED", event("ACKNOWLEDGED", 1))
    assert s.repo.mark_ack_withheld("CMP-ACKED", event("ACK_WITHHELD", 2)) is False
    assert s.repo.get("CMP-ACKED")[0].ack_suppressed_at is None


@CONTRACT.case
def access_code_hash_reads_the_stored_hash(s: Subject) -> None:
    case = store(s, ID)
    assert s.repo.access_code_hash(ID) == case.access_code_hash
    assert s.repo.access_code_hash("CMP-20260305-NOSUCH") is None


@CONTRACT.case
def count_acknowledgement_counts_each_case_once_up_to_the_limit(s: Subject) -> None:
    for n in range(3):
        store(s, f"CMP-{n}")
    assert s.repo.count_acknowledgement("CMP-0", "r", "2026-03-05T10", 2, at(1)) is True
    assert s.repo.count_acknowledgement("CMP-0", "r", "2026-03-05T10", 2, at(2)) is True  # a retried step
    assert s.repo.count_acknowledgement("CMP-1", "r", "2026-03-05T10", 2, at(3)) is True
    assert s.repo.count_acknowledgement("CMP-2", "r", "2026-03-05T10", 2, at(4)) is False  # limit reached
    assert [s.repo.get(f"CMP-{n}")[0].ack_counted_at for n in range(3)] == [at(1), at(3), None]
    # another hour, another recipient: counted apart
    assert s.repo.count_acknowledgement("CMP-2", "r", "2026-03-05T11", 2, at(61)) is True
    assert s.repo.get("CMP-2")[0].ack_counted_at == at(61)


@CONTRACT.case
def mark_needs_attention_is_version_checked(s: Subject) -> None:
    case = store(s, ID, status=Status.TRIAGED)
    s.repo.mark_needs_attention(case, "triage failed", event("NEEDS_ATTENTION", 1), tally(attention=1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.attention_reason, stored.attention_from) == (
        Status.NEEDS_ATTENTION,
        "triage failed",
        Status.TRIAGED,
    )
    assert (stored.version, stored.updated_at, events[-1].type) == (2, at(1), "NEEDS_ATTENTION")
    with pytest.raises(ConflictError):  # stale: version 1
        s.repo.mark_needs_attention(case, "again", event("NEEDS_ATTENTION", 2))
    assert s.repo.get(ID)[0].attention_reason == "triage failed"


@CONTRACT.case
def mark_needs_attention_again_keeps_where_it_failed(s: Subject) -> None:
    case = store(s, ID, status=Status.INVESTIGATING)
    s.repo.mark_needs_attention(case, "first", event("NEEDS_ATTENTION", 1))
    s.repo.mark_needs_attention(s.repo.get(ID)[0], "second", event("NEEDS_ATTENTION", 2))
    stored = s.repo.get(ID)[0]
    assert (stored.attention_reason, stored.attention_from, stored.version) == (
        "second",
        Status.INVESTIGATING,
        3,
    )


@CONTRACT.case
def resume_goes_back_once_to_where_it_failed(s: Subject) -> None:
    case = store(s, ID, status=Status.TRIAGED)
    s.repo.mark_needs_attention(case, "boom", event("NEEDS_ATTENTION", 1))
    waiting = s.repo.get(ID)[0]
    resumed = s.repo.resume(waiting, event("RESUMED", 2))
    stored, events = s.repo.get(ID)
    # What resume returns is the case as stored, but for updated_at: the adapter gives back the one the
    # case had before (its model_copy leaves it), the fake the new one. Casework reads retries and version.
    assert resumed.model_dump(exclude={"updated_at"}) == stored.model_dump(exclude={"updated_at"})
    assert stored.updated_at == at(2)
    assert (
        stored.status,
        stored.retries,
        stored.attention_reason,
        stored.attention_from,
        stored.version,
    ) == (
        Status.TRIAGED,
        1,
        None,
        None,
        3,
    )
    assert [e.type for e in events] == ["RECEIVED", "NEEDS_ATTENTION", "RESUMED"]
    with pytest.raises(ConflictError):  # two ops retrying at once: one resumes it
        s.repo.resume(waiting, event("RESUMED", 3))
    with pytest.raises(ConflictError):  # not waiting for attention
        s.repo.resume(stored, event("RESUMED", 3))
    assert s.repo.get(ID)[0].version == 3


@CONTRACT.case
def set_execution_points_the_case_at_a_new_execution(s: Subject) -> None:
    store(s, ID)
    s.raw.mark_started(ID, "arn:one", event("STARTED", 1))
    s.repo.set_execution(ID, "arn:retry-1")
    case = s.repo.get(ID)[0]
    assert (case.execution_arn, case.version) == ("arn:retry-1", 2)  # no version bump, no event
    assert len(s.repo.get(ID)[1]) == 2


@CONTRACT.case
def set_execution_of_an_unknown_case_raises_conflict(s: Subject) -> None:
    with pytest.raises(ConflictError):
        s.repo.set_execution("CMP-20260305-NOSUCH", "arn")


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_case_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
