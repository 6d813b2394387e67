"""Evidence chains, link signatures and the findings form: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from complaints.core.evidence import GENESIS, chain, verify
from complaints.core.tasks import Findings, TaskLink
from complaints.tasklinks.links import link_url, signature, signature_matches

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
FOUND = [
    ("records", "transactionId:TX-1", {"status": "PENDING_AT_BANK", "amount": "150.00"}),
    ("records", "betId:B-7", {"settledAs": "LOST"}),
    ("earlier-complaints", "CMP-20261101-AAAAAA", {"status": "CLOSED"}),
]


def test_a_fresh_chain_verifies_and_links_each_item_to_the_one_before():
    items = chain(FOUND, AT)

    assert verify(items).intact
    assert items[0].prev_hash == GENESIS
    assert [b.prev_hash for b in items[1:]] == [a.hash for a in items[:-1]]
    assert len({item.hash for item in items}) == 3


@pytest.mark.parametrize(
    ("change", "broken_at"),
    [
        (lambda items: items[1].data.update(settledAs="WON"), 1),
        (lambda items: setattr(items[0], "reference", "transactionId:TX-2"), 0),
        (lambda items: setattr(items[2], "fetched_at", datetime(2026, 11, 21, tzinfo=UTC)), 2),
        (lambda items: items.pop(1), 1),
        (lambda items: setattr(items[2], "hash", items[2].hash[::-1]), 2),
    ],
    ids=["data", "reference", "time", "removed", "hash"],
)
def test_any_later_change_breaks_the_chain_where_it_was_made(change, broken_at):
    items = chain(FOUND, AT)
    change(items)

    check = verify(items)

    assert not check.intact
    assert check.broken_at == broken_at


def test_rewriting_one_item_with_a_recomputed_hash_still_breaks_the_next_link():
    items = chain(FOUND, AT)
    forged = chain([("records", "transactionId:TX-1", {"status": "PAID", "amount": "150.00"})], AT)[0]
    items[0] = forged

    assert verify(items).broken_at == 1


def _link(**overrides) -> TaskLink:
    values = {
        "link_id": "abc",
        "complaint_id": "CMP-20261120-AAAAAA",
        "kind": "investigate",
        "level": "investigator",
        "recipient_id": "fin-wang",
        "recipient_name": "Wang Fang",
        "recipient_email": "fin-wang@example.com",
        "token": "AAAA+task/token==",
        "created_at": AT,
        "expires_at": AT,
    }
    return TaskLink(**{**values, **overrides})


def test_a_link_signature_binds_the_link_case_task_and_recipient():
    key = b"k" * 32
    link = _link()
    url = link_url("https://api.example/prod", key, link)
    sig = url.rsplit("sig=", 1)[1]

    assert url.startswith("https://api.example/prod/tasks/abc?sig=")
    assert "task/token" not in url  # the task token stays server-side
    assert signature_matches(key, link, sig)
    for other in (
        _link(link_id="abd"),
        _link(complaint_id="CMP-20261120-BBBBBB"),
        _link(kind="approve"),
        _link(recipient_id="fin-feng"),
    ):
        assert not signature_matches(key, other, sig)
    assert not signature_matches(b"x" * 32, link, sig)
    assert not signature_matches(key, link, None)
    assert not signature_matches(key, link, sig.upper() if sig != sig.upper() else sig[:-1])
    assert len(signature(key, "abc", "c", "k", "r")) == 32


def test_findings_need_money_for_money_remedies_and_nothing_else():
    ok = Findings.model_validate(
        {"summary": "s", "remedy": "refund", "amount": "150.00", "currency": "CNY", "customerMessage": "m"}
    )
    assert ok.amount == Decimal("150.00")
    assert Findings.model_validate(
        {"summary": "s", "remedy": "explanation", "amount": "", "customerMessage": "m"}
    )
    for bad in (
        {"summary": "s", "remedy": "refund", "customerMessage": "m"},
        {"summary": "s", "remedy": "compensation", "amount": "10", "customerMessage": "m"},
        {"summary": "", "remedy": "explanation", "customerMessage": "m"},
        {"summary": "s", "remedy": "apology", "customerMessage": "m"},
        {"summary": "s", "remedy": "refund", "amount": "-1", "currency": "CNY", "customerMessage": "m"},
        {"summary": "s", "remedy": "explanation", "customerMessage": "m", "extra": "x"},
    ):
        with pytest.raises(ValidationError):
            Findings.model_validate(bad)
