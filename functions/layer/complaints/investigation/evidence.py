"""Evidence for an investigation: pluggable sources, and a SHA-256 hash chain that shows any later change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from complaints.core.models import Case
from complaints.investigation.ports import EvidenceSource, RecordStore

GENESIS = "0" * 64


class EvidenceItem(BaseModel):
    seq: int
    source: str
    reference: str
    fetched_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


def item_hash(prev_hash: str, seq: int, source: str, reference: str, fetched_at: datetime, data: dict) -> str:
    """SHA-256 over the previous hash and this item's content, in a canonical JSON form."""
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "source": source,
            "reference": reference,
            "fetched_at": fetched_at.isoformat(),
            "data": data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain(
    found: list[tuple[str, str, dict[str, Any]]], fetched_at: datetime, start: str = GENESIS
) -> list[EvidenceItem]:
    """Link (source, reference, data) triples into a hash chain, in order."""
    items, previous = [], start
    for seq, (source, reference, data) in enumerate(found):
        digest = item_hash(previous, seq, source, reference, fetched_at, data)
        items.append(
            EvidenceItem(
                seq=seq,
                source=source,
                reference=reference,
                fetched_at=fetched_at,
                data=data,
                prev_hash=previous,
                hash=digest,
            )
        )
        previous = digest
    return items


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    broken_at: int | None = None


def verify(items: list[EvidenceItem]) -> ChainCheck:
    """Recompute every link: the first item whose content or link does not match breaks the chain."""
    previous = GENESIS
    for expected_seq, item in enumerate(sorted(items, key=lambda i: i.seq)):
        recomputed = item_hash(previous, item.seq, item.source, item.reference, item.fetched_at, item.data)
        if item.seq != expected_seq or item.prev_hash != previous or item.hash != recomputed:
            return ChainCheck(False, expected_seq)
        previous = item.hash
    return ChainCheck(True)


class ReferencedRecords:
    """Records named by the complaint's references (transaction ledger, bets, orders, account activity),
    looked up in a record store: locally the demo records the embedded stack seeds; in production the
    adapter of the platform's own systems."""

    name = "records"

    def __init__(self, store: RecordStore):
        self._store = store

    def fetch(self, case: Case) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for name, value in sorted(case.references.items()):
            record = self._store.record(value)
            found.append((f"{name}:{value}", record if record is not None else {"found": False}))
        return found


class EarlierComplaints:
    """This customer's earlier complaints (ids, dates, status): patterns matter to an investigator."""

    name = "earlier-complaints"

    def __init__(self, store: RecordStore, customer_key, days: int = 365, limit: int = 20):
        self._store = store
        self._key = customer_key
        self._days = days
        self._limit = limit

    def fetch(self, case: Case) -> list[tuple[str, dict[str, Any]]]:
        from datetime import timedelta

        since = case.created_at - timedelta(days=self._days)
        earlier = [
            c
            for c in self._store.recent_for_customer(self._key(case.customer.email), since, self._limit)
            if c.complaint_id != case.complaint_id and c.created_at < case.created_at
        ]
        return [
            (c.complaint_id, {"status": c.status.value, "createdAt": c.created_at.isoformat()})
            for c in earlier
        ]


def gather(case: Case, sources: list[EvidenceSource], fetched_at: datetime) -> list[EvidenceItem]:
    """Ask every source, in order, and chain what they return."""
    found = [(source.name, reference, data) for source in sources for reference, data in source.fetch(case)]
    return chain(found, fetched_at)
