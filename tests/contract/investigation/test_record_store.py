"""investigation.ports.RecordStore: platform records and a customer's recent cases, on
FakeInvestigationRepository and DynamoInvestigationRepository."""

from __future__ import annotations

import pytest

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.investigation.ports import RecordStore
from tests.contract.support import CASE_TABLE, Contract, Subject, make_subject
from tests.contract.triage.test_triage_repository import (
    recent_for_customer_lists_one_customers_cases_since_newest_first,
)
from tests.fakes import FakeInvestigationRepository

CONTRACT = Contract(
    RecordStore,
    FakeInvestigationRepository,
    lambda tables: DynamoInvestigationRepository(tables[CASE_TABLE]),
    cases=[recent_for_customer_lists_one_customers_cases_since_newest_first],
)


@CONTRACT.case
def record_reads_a_platform_record_by_reference(s: Subject) -> None:
    s.put_record("TX-1", {"kind": "record", "type": "payment", "amount": "12.50", "currency": "GBP"})
    assert s.repo.record("TX-1") == {
        "kind": "record",
        "type": "payment",
        "amount": "12.50",
        "currency": "GBP",
    }
    assert s.repo.record("TX-404") is None


@CONTRACT.case
def record_gives_numbers_as_text(s: Subject) -> None:
    s.put_record("BET-7", {"stake": 5, "odds": 2, "settled": True})
    assert s.repo.record("BET-7") == {"stake": "5", "odds": "2", "settled": True}


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_record_store(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
