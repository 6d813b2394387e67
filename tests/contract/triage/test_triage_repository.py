"""triage.ports.TriageRepository: FakeTriageRepository and DynamoTriageRepository pass the same cases."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoTriageRepository
from complaints.core import ids
from complaints.core.errors import ConflictError
from complaints.core.models import CaseSummary, Status
from complaints.triage.ports import Assignment, TriageRepository
from complaints.triage.rules import DuplicateMatch
from tests.contract.support import (
    CASE_TABLE,
    INVESTIGATOR,
    Contract,
    Subject,
    assignment,
    at,
    event,
    make_subject,
    store,
    tally,
    triage_fields,
)
from tests.fakes import FakeTriageRepository

CONTRACT = Contract(
    TriageRepository, FakeTriageRepository, lambda tables: DynamoTriageRepository(tables[CASE_TABLE])
)
ID = "CMP-20260305-AAAAAA"
HOUR = "2026-03-05T10"


@CONTRACT.case
def mark_triaged_stores_the_triage_and_counts_the_assignment(s: Subject) -> None:
    case = store(s, ID)
    s.repo.mark_triaged(case, triage_fields(), assignment(None), event("TRIAGED", 1), tally(triaged=1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.category, stored.confidence, stored.priority, stored.priority_score) == (
        Status.TRIAGED,
        "payments",
        0.875,
        "P2",
        40,
    )
    assert (stored.department, stored.assignee, stored.assignee_name) == ("payments", "inv-1", "Ida Vance")
    assert (stored.first_response_due_at, stored.resolution_due_at, stored.response_due_at) == (
        at(60 * 24),
        at(60 * 24 * 14),
        at(60 * 24 * 56),
    )
    assert (stored.triaged_at, stored.updated_at, stored.version) == (at(1), at(1), 2)
    assert stored.evidence == ["twice"]
    assert [(p.reason, p.points) for p in stored.priority_breakdown] == [("money", 40)]
    assert events[-1].type == "TRIAGED"
    assert s.repo.investigator_loads("payments") == {"inv-1": (1, at(1).isoformat())}
    assert s.repo.investigator_loads("claims") == {}


@CONTRACT.case
def mark_triaged_counts_on_from_the_expected_load(s: Subject) -> None:
    first = store(s, "CMP-1")
    second = store(s, "CMP-2")
    s.repo.mark_triaged(first, triage_fields(), assignment(None), event("TRIAGED", 1))
    s.repo.mark_triaged(second, triage_fields(), assignment(1), event("TRIAGED", 2))
    assert s.repo.investigator_loads("payments") == {"inv-1": (2, at(2).isoformat())}


@CONTRACT.case
def mark_triaged_with_a_stale_counter_raises_conflict_and_changes_nothing(s: Subject) -> None:
    first = store(s, "CMP-1")
    second = store(s, "CMP-2")
    s.repo.mark_triaged(first, triage_fields(), assignment(None), event("TRIAGED", 1))
    for expected in (None, 0, 5):  # the counter exists (1): "none yet" and wrong counts are stale
        with pytest.raises(ConflictError):
            s.repo.mark_triaged(second, triage_fields(), assignment(expected), event("TRIAGED", 2))
    untouched, events = s.repo.get("CMP-2")
    assert (untouched.status, untouched.version, untouched.assignee) == (Status.RECEIVED, 1, None)
    assert [e.type for e in events] == ["RECEIVED"]
    assert s.repo.investigator_loads("payments") == {"inv-1": (1, at(1).isoformat())}


@CONTRACT.case
def mark_triaged_needs_the_case_received_at_its_version(s: Subject) -> None:
    case = store(s, ID)
    s.repo.mark_triaged(case, triage_fields(), assignment(None), event("TRIAGED", 1))
    with pytest.raises(ConflictError):  # the same (stale) case again: triaged once
        s.repo.mark_triaged(case, triage_fields(), assignment(1), event("TRIAGED", 2))
    with pytest.raises(ConflictError):  # current version, but no longer RECEIVED
        s.repo.mark_triaged(s.repo.get(ID)[0], triage_fields(), assignment(1), event("TRIAGED", 2))
    assert s.repo.get(ID)[0].version == 2
    assert s.repo.investigator_loads("payments") == {"inv-1": (1, at(1).isoformat())}


@CONTRACT.case
def mark_related_links_a_received_case_once(s: Subject) -> None:
    case = store(s, ID)
    match = DuplicateMatch(complaint_id="CMP-EARLIER", reason="reference", detail="order O-1")
    s.repo.mark_related(case, match, event("RELATED", 1), tally(related=1))
    stored, events = s.repo.get(ID)
    assert (stored.status, stored.related_to, stored.version, stored.updated_at) == (
        Status.RELATED,
        "CMP-EARLIER",
        2,
        at(1),
    )
    assert events[-1].type == "RELATED"
    with pytest.raises(ConflictError):
        s.repo.mark_related(case, match, event("RELATED", 2))
    assert len(s.repo.get(ID)[1]) == 2


@CONTRACT.case
def mark_related_notified_happens_once_without_a_version_bump(s: Subject) -> None:
    store(s, ID)
    assert s.repo.mark_related_notified(ID, at(1)) is True
    assert s.repo.mark_related_notified(ID, at(2)) is False
    assert s.repo.mark_related_notified("CMP-NOSUCH", at(2)) is False
    stored, events = s.repo.get(ID)
    assert (stored.related_notified_at, stored.version, len(events)) == (at(1), 1, 1)


@CONTRACT.case
def recent_for_customer_lists_one_customers_cases_since_newest_first(s: Subject) -> None:
    store(s, "CMP-OLD", created_at=at(-600), references={"order": "O-0"})
    store(s, "CMP-A", created_at=at(1), references={"order": "O-1"})
    store(s, "CMP-B", created_at=at(2), description="Second text")
    store(s, "CMP-OTHER", created_at=at(3), email="bob@example.com")
    key = ids.customer_key("ann@example.com")
    found = s.repo.recent_for_customer(key, at(0), 10)
    assert found == [
        CaseSummary(
            complaint_id="CMP-B", status=Status.RECEIVED, created_at=at(2), description="Second text"
        ),
        CaseSummary(
            complaint_id="CMP-A",
            status=Status.RECEIVED,
            created_at=at(1),
            references={"order": "O-1"},
            description="The payment was taken twice.",
        ),
    ]
    assert [c.complaint_id for c in s.repo.recent_for_customer(key, at(-700), 2)] == ["CMP-B", "CMP-A"]


@CONTRACT.case
def count_for_spikes_counts_each_case_once_per_category_hour(s: Subject) -> None:
    one = store(s, "CMP-1", category="payments")
    two = store(s, "CMP-2", category="payments")
    assert s.repo.count_for_spikes(one, HOUR, at(1)) == 1
    assert s.repo.count_for_spikes(one, HOUR, at(2)) is None  # counted before
    assert s.repo.count_for_spikes(two, HOUR, at(3)) == 2
    assert s.repo.get("CMP-1")[0].spike_counted_at == at(1)
    assert s.repo.count_for_spikes(store(s, "CMP-X"), HOUR, at(4)) == 1  # no category: "other"
    assert s.repo.hour_counts("payments", [HOUR, "2026-03-05T09"]) == {HOUR: 2}
    assert s.repo.hour_counts("other", [HOUR]) == {HOUR: 1}


@CONTRACT.case
def spike_examples_are_kept_up_to_the_limit(s: Subject) -> None:
    for n in range(4):
        s.repo.add_spike_example("payments", HOUR, f"CMP-{n}", 3)
    assert s.repo.spike_examples("payments", HOUR) == ["CMP-0", "CMP-1", "CMP-2"]
    assert s.repo.spike_examples("payments", "2026-03-05T11") == []
    # an hour with examples and no count yet counts 0
    assert s.repo.hour_counts("payments", [HOUR]) == {HOUR: 0}


@CONTRACT.case
def claim_spike_alert_is_one_complaints_until_sent(s: Subject) -> None:
    assert s.repo.claim_spike_alert("payments", HOUR, "CMP-1", at(1)) is True
    assert s.repo.claim_spike_alert("payments", HOUR, "CMP-2", at(2)) is False
    assert s.repo.claim_spike_alert("payments", HOUR, "CMP-1", at(3)) is True  # its retried task
    s.repo.mark_spike_alert_sent("payments", HOUR, at(4))
    assert s.repo.claim_spike_alert("payments", HOUR, "CMP-1", at(5)) is False
    assert s.repo.claim_spike_alert("payments", "2026-03-05T11", "CMP-2", at(61)) is True


@CONTRACT.case
def mark_spike_alert_sent_without_a_claim_blocks_later_claims(s: Subject) -> None:
    s.repo.mark_spike_alert_sent("payments", HOUR, at(1))
    assert s.repo.claim_spike_alert("payments", HOUR, "CMP-1", at(2)) is False


@CONTRACT.case
def investigator_loads_are_per_department(s: Subject) -> None:
    store(s, "CMP-1")
    store(s, "CMP-2")
    s.repo.mark_triaged(s.repo.get("CMP-1")[0], triage_fields(), assignment(None), event("TRIAGED", 1))
    other = triage_fields(department="claims", investigator=INVESTIGATOR.model_copy(update={"id": "inv-2"}))
    second = Assignment(department="claims", investigator=other.investigator, expected_open=None)
    s.repo.mark_triaged(s.repo.get("CMP-2")[0], other, second, event("TRIAGED", 2))
    assert s.repo.investigator_loads("payments") == {"inv-1": (1, at(1).isoformat())}
    assert s.repo.investigator_loads("claims") == {"inv-2": (1, at(2).isoformat())}


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_triage_repository(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
