"""core.ports.LedgerAdapter: paid once per (complaint, remedy id), the same reference for a repeat, and
LedgerUnavailable when the payment system is down; on FakeLedger and LedgerTableAdapter (LedgerTable)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from complaints.adapters.ledger import LedgerTableAdapter
from complaints.core.errors import LedgerUnavailable
from complaints.core.ports import LedgerAdapter
from infra import moto_hooks
from tests.contract.support import LEDGER_TABLE, Contract, Subject, make_subject
from tests.fakes import FakeLedger

CONTRACT = Contract(LedgerAdapter, FakeLedger, lambda tables: LedgerTableAdapter(tables[LEDGER_TABLE]))


def _paid(s: Subject) -> dict[tuple[str, str], dict]:
    """What the payment system holds: (complaint, remedy id) -> the payment."""
    if s.tables is None:
        return {key: dict(payment) for key, payment in s.raw.payments.items()}
    return {
        (item["pk"].removeprefix("LEDGER#"), item["sk"].removeprefix("REMEDY#")): {
            k: item[k] for k in ("reference", "remedy", "amount", "currency")
        }
        for item in s.snapshot()[LEDGER_TABLE]
    }


@CONTRACT.case
def pay_pays_once_per_remedy_and_repeats_the_reference(s: Subject) -> None:
    first = s.repo.pay("CMP-1", "r1", "refund", Decimal("12.50"), "GBP")
    again = s.repo.pay("CMP-1", "r1", "refund", Decimal("99.00"), "GBP")  # a retried step
    other = s.repo.pay("CMP-1", "r2", "compensation", Decimal("5.00"), "GBP")
    assert first == again == "PAY-r1"
    assert other == "PAY-r2"
    assert _paid(s) == {
        ("CMP-1", "r1"): {
            "reference": "PAY-r1",
            "remedy": "refund",
            "amount": Decimal("12.50"),
            "currency": "GBP",
        },
        ("CMP-1", "r2"): {
            "reference": "PAY-r2",
            "remedy": "compensation",
            "amount": Decimal("5.00"),
            "currency": "GBP",
        },
    }


@CONTRACT.case
def pay_when_the_payment_system_is_down_raises_and_pays_nothing(s: Subject) -> None:
    if s.tables is None:
        s.raw.unavailable = True
    else:
        moto_hooks.inject_fault("PutItem", "ThrottlingException")
    with pytest.raises(LedgerUnavailable):
        s.repo.pay("CMP-1", "r1", "refund", Decimal("12.50"), "GBP")
    assert _paid(s) == {}


@pytest.mark.parametrize("case", CONTRACT.cases, ids=CONTRACT.ids())
def test_ledger_adapter(case, kind, tables) -> None:
    case(make_subject(CONTRACT, kind, tables, set()))
