"""resolution.ports.ResolutionRepository: the customer's link, decisions and closure, on
FakeInvestigationRepository and DynamoInvestigationRepository."""

from __future__ import annotations

from datetime import timedelta

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import ConflictError
from complaints.core.models import Case, Status
from complaints.core.tasks import CustomerAnswer, LinkStatus
from complaints.resolution.ports import ResolutionRepository
from tests.contract.support import (
    CASE_TABLE,
    Contract,
    Subject,
    assignment,
    at,
    event,
    link,
    make_subject,
    store,
    tally,
    triage_fields,
)
from tests.fakes import FakeInvestigationRepository

CONTRACT = Contract(
    ResolutionRepository,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
)
ID = "CMP-20260305-AAAAAA"
ARCHIVE_UNTIL = at(60 * 24 * 365 * 6)


def resolving(s: Subject, complaint_id: str = ID, expected_open: int | None = None) -> Case:
    """A case triaged to inv-1 (counted on the roster), then RESOLVING."""
    case = store(s, complaint_id)
    s.raw.mark_triaged(case, triage_fields(), assignment(expected_open), event("TRIAGED", 1))
    triaged = s.raw.get(complaint_id)[0]
    s.raw.approve(triaged, event("APPROVED", 2))
    return s.raw.get(complaint_id)[0]


@CONTRACT.case
def record_remedy_counts_the_remedy_once_per_version(s: Subject) -> None:
    case = resolving(s)
    s.repo.record_remedy(case, "PAY-1", event("REMEDY_APPLIED", 3))
    stored, events = s.repo.get(ID)
    assert (stored.remedy_ref, stored.remedy_count, stored.remedy_applied_at) == ("PAY-1", 1, at(3))
    assert (stored.version, stored.updated_at, events[-1].type) == (case.version + 1, at(3), "REMEDY_APPLIED")
    with pytest.raises(ConflictError):  # a retried step with the case it read before
        s.repo.record_remedy(case, "PAY-2", event("REMEDY_APPLIED", 4))
    assert s.repo.get(ID)[0].remedy_ref == "PAY-1"


@CONTRACT.case
def await_confirmation_sets_the_status_and_adds_no_event(s: Subject) -> None:
    case = resolving(s)
    events_before = len(s.repo.get(ID)[1])
    s.repo.await_confirmation(case, at(4))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.resolution_sent_at, stored.updated_at) == (
        Status.AWAITING_CONFIRMATION,
        at(4),
        at(4),
    )
    assert len(events) == events_before
    with pytest.raises(ConflictError):
        s.repo.await_confirmation(case, at(5))


@CONTRACT.case
def record_customer_answer_keeps_the_rating_or_none(s: Subject) -> None:
    case = resolving(s)
    s.repo.record_customer_answer(case, None, event("NO_ANSWER", 6))
    stored, events = s.repo.get(ID)
    assert (stored.csat_rating, stored.customer_resolved, events[-1].type) == (None, None, "NO_ANSWER")
    s.repo.record_customer_answer(
        stored, CustomerAnswer(resolved="yes", rating=4), event("CUSTOMER_CONFIRMED", 7)
    )
    stored = s.repo.get(ID)[0]
    assert (stored.csat_rating, stored.customer_resolved, stored.status) == (4, "yes", Status.RESOLVING)
    with pytest.raises(ConflictError):
        s.repo.record_customer_answer(case, None, event("NO_ANSWER", 8))


@CONTRACT.case
def reopen_sends_the_case_back_without_its_findings_and_remedy(s: Subject) -> None:
    case = resolving(s)
    s.repo.record_remedy(case, "PAY-1", event("REMEDY_APPLIED", 3))
    case = s.repo.get(ID)[0]
    s.repo.reopen(
        case, CustomerAnswer(resolved="no", rating=2, comment="Still missing"), event("REOPENED", 6)
    )
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.reopened, stored.findings, stored.remedy_ref, stored.remedy_count) == (
        Status.INVESTIGATING,
        True,
        None,
        None,
        1,
    )
    assert (stored.csat_rating, stored.customer_resolved, events[-1].type) == (2, "no", "REOPENED")
    with pytest.raises(ConflictError):
        s.repo.reopen(case, CustomerAnswer(resolved="no", rating=1), event("REOPENED", 7))


@CONTRACT.case
def record_final_response_keeps_when_it_was_sent(s: Subject) -> None:
    case = resolving(s)
    s.repo.record_final_response(case, event("FINAL_RESPONSE", 9))
    stored, events = s.repo.get(ID)
    assert (stored.final_response_sent_at, stored.updated_at, events[-1].type) == (
        at(9),
        at(9),
        "FINAL_RESPONSE",
    )
    with pytest.raises(ConflictError):
        s.repo.record_final_response(case, event("FINAL_RESPONSE", 10))


@CONTRACT.case
def put_link_of_the_customer_points_the_case_at_it(s: Subject) -> None:
    case = resolving(s)
    s.repo.put_link(link("c1", ID, kind="confirm", level="customer"), None, event("CONFIRM_ASKED", 3))
    stored = s.repo.get(ID)[0]
    assert (stored.confirm_link_id, stored.version) == ("c1", case.version)
    s.repo.mark_notified("c1", at(4))
    assert s.repo.get_link("c1").notified_at == at(4)
    s.repo.put_link(link("c2", ID, kind="confirm", level="customer"), "c1", event("CONFIRM_ASKED", 5))
    assert s.repo.get_link("c1").status == LinkStatus.SUPERSEDED
    assert s.repo.get(ID)[0].confirm_link_id == "c2"


@CONTRACT.case
def close_case_closes_once_and_releases_the_investigator(s: Subject) -> None:
    case = resolving(s)
    s.repo.close_case(case, event("CLOSED", 10), tally(closed=1), ARCHIVE_UNTIL)
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.closed_at, stored.updated_at, stored.version) == (
        Status.CLOSED,
        at(10),
        at(10),
        case.version + 1,
    )
    assert events[-1].type == "CLOSED"
    assert s.raw.investigator_loads("payments") == {"inv-1": (0, at(1).isoformat())}
    with pytest.raises(ConflictError):  # a retried step with the case it read before
        s.repo.close_case(case, event("CLOSED", 11), tally(closed=1), ARCHIVE_UNTIL)
    assert [e.type for e in s.repo.get(ID)[1]].count("CLOSED") == 1
    assert s.raw.investigator_loads("payments") == {"inv-1": (0, at(1).isoformat())}


@CONTRACT.case
def close_case_releases_only_its_own_case(s: Subject) -> None:
    first = resolving(s, "CMP-1")
    resolving(s, "CMP-2", expected_open=1)
    assert s.raw.investigator_loads("payments")["inv-1"][0] == 2
    s.repo.close_case(first, event("CLOSED", 10), None, ARCHIVE_UNTIL)
    assert s.raw.investigator_loads("payments")["inv-1"][0] == 1
    assert s.repo.get("CMP-2")[0].status == Status.RESOLVING


@CONTRACT.case
def close_case_without_a_roster_counter_closes(s: Subject) -> None:
    case = store(s, ID, status=Status.RESOLVING, department="payments", assignee="inv-9")
    s.repo.close_case(case, event("CLOSED", 10), None, ARCHIVE_UNTIL)
    assert s.repo.get(ID)[0].status == Status.CLOSED
    assert s.raw.investigator_loads("payments") == {}


@CONTRACT.case
def close_case_of_a_stale_case_changes_nothing(s: Subject) -> None:
    case = resolving(s)
    s.repo.record_customer_answer(case, CustomerAnswer(resolved="yes", rating=5), event("RATED", 5))
    with pytest.raises(ConflictError):
        s.repo.close_case(case, event("CLOSED", 10), tally(closed=1), ARCHIVE_UNTIL)
    stored = s.repo.get(ID)[0]
    assert (stored.status, stored.closed_at, stored.csat_rating) == (Status.RESOLVING, None, 5)
    assert s.raw.investigator_loads("payments")["inv-1"][0] == 1


@CONTRACT.case
def closing_keeps_the_archive_until_the_date_given(s: Subject) -> None:
    case = resolving(s)
    s.repo.close_case(case, event("CLOSED", 10), None, ARCHIVE_UNTIL)
    if s.tables is None:
        archive = s.raw.archives[ID]
        archived, ttl = archive["case"], archive["ttl"]
    else:
        item = s.tables[CASE_TABLE].get_item(Key={"pk": f"ARCHIVE#{ID}", "sk": "ARCHIVE"})["Item"]
        archived, ttl = Case.model_validate(item["case"]), int(item["ttl"])
    assert archived == s.repo.get(ID)[0]
    assert ttl == int(ARCHIVE_UNTIL.timestamp())
    assert ARCHIVE_UNTIL - at(10) > timedelta(days=365)


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_resolution_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
