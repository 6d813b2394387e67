"""A write whose condition fails changes nothing, on the fake as on the adapter (snapshot of the fake's
whole state, or scan of the tables, before == after); and the fake's own failure injection (fail_close,
inject_conflicts) fails a write before any change, as a failed transaction does."""

from __future__ import annotations

from typing import Any

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import ConflictError, TransientError
from complaints.core.models import Status
from complaints.core.tasks import CustomerAnswer
from complaints.investigation.ports import InvestigationRepository
from tests.contract.adapters.dynamo.writes import ID, WRITE_AT, resolving
from tests.contract.support import (
    CASE_TABLE,
    T0,
    Contract,
    Subject,
    assignment,
    at,
    claim_for,
    event,
    evidence_items,
    link,
    make_subject,
    new_case,
    store,
    tally,
    triage_fields,
)
from tests.fakes import FakeInvestigationRepository

IMPLEMENTATIONS = Contract(
    InvestigationRepository,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
)


@pytest.fixture
def s(kind: str, tables: dict[str, Any] | None) -> Subject:
    return make_subject(IMPLEMENTATIONS, kind, tables, set())


def _unchanged(s: Subject, write, expected: Any) -> None:
    before = s.snapshot()
    if isinstance(expected, type):
        with pytest.raises(expected):
            write()
    else:
        assert write() == expected
    assert s.snapshot() == before


def test_create_with_a_live_claim(s: Subject) -> None:
    first = new_case(ID)
    s.raw.create(first, event("RECEIVED"), claim_for(first, key="k"), T0)
    second = new_case("CMP-2")
    _unchanged(
        s,
        lambda: s.raw.create(second, event("RECEIVED", 1), claim_for(second, key="k"), at(1), tally()),
        claim_for(first, key="k"),
    )


def test_create_with_a_used_complaint_id(s: Subject) -> None:
    store(s, ID)
    again = new_case(ID)
    write = lambda: s.raw.create(again, event("RECEIVED", 1), claim_for(again, key="new"), at(1), tally())  # noqa: E731
    _unchanged(s, write, ConflictError)


def test_mark_triaged_with_a_stale_roster_counter(s: Subject) -> None:
    s.raw.mark_triaged(store(s, "CMP-1"), triage_fields(), assignment(None), event("TRIAGED", 1))
    second = store(s, "CMP-2")
    write = lambda: s.raw.mark_triaged(second, triage_fields(), assignment(7), event("TRIAGED", 2), tally())  # noqa: E731
    _unchanged(s, write, ConflictError)


def test_count_acknowledgement_over_the_limit(s: Subject) -> None:
    store(s, "CMP-1")
    store(s, "CMP-2")
    s.raw.count_acknowledgement("CMP-1", "r", "2026-03-05T10", 1, at(1))
    _unchanged(s, lambda: s.raw.count_acknowledgement("CMP-2", "r", "2026-03-05T10", 1, at(2)), False)


def test_put_link_for_an_unknown_case_supersedes_nothing(s: Subject) -> None:
    store(s, ID, status=Status.INVESTIGATING)
    s.raw.put_link(link("l1", ID), None, event("LINK_SENT", 1))
    write = lambda: s.raw.put_link(link("l2", "CMP-NOSUCH"), "l1", event("LINK_SENT", 2), tally())  # noqa: E731
    _unchanged(s, write, ConflictError)


def test_start_investigation_of_a_case_not_triaged(s: Subject) -> None:
    case = store(s, ID, status=Status.RECEIVED)
    _unchanged(
        s, lambda: s.raw.start_investigation(case, evidence_items(3), event("INVESTIGATING", 1)), False
    )


def test_close_case_of_a_stale_case(s: Subject) -> None:
    case = resolving(s)
    s.raw.record_customer_answer(case, CustomerAnswer(resolved="yes", rating=4), event("RATED", 5))
    write = lambda: s.raw.close_case(case, event("CLOSED", WRITE_AT), tally(closed=1), at(60 * 24 * 2000))  # noqa: E731
    _unchanged(s, write, ConflictError)


def test_the_fakes_failed_close_changes_nothing_and_the_retry_closes() -> None:
    s = make_subject(IMPLEMENTATIONS, "fake", None, set())
    case = resolving(s)
    s.raw.fail_close = 1
    write = lambda: s.raw.close_case(case, event("CLOSED", WRITE_AT), tally(closed=1), at(60 * 24 * 2000))  # noqa: E731
    _unchanged(s, write, TransientError)
    write()
    assert s.raw.get(ID)[0].status == Status.CLOSED
    assert s.raw.investigator_loads("payments")["inv-1"][0] == 0


def test_the_fakes_injected_triage_conflict_changes_nothing() -> None:
    s = make_subject(IMPLEMENTATIONS, "fake", None, set())
    case = store(s, ID)
    s.raw.inject_conflicts(1)
    write = lambda: s.raw.mark_triaged(case, triage_fields(), assignment(None), event("TRIAGED", 1), tally())  # noqa: E731
    _unchanged(s, write, ConflictError)
    write()
    assert s.raw.get(ID)[0].status == Status.TRIAGED
