"""Evidence for an investigation: the pluggable sources it is gathered from, chained in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from complaints.core.evidence import EvidenceItem, chain
from complaints.core.models import Case
from complaints.investigation.ports import EvidenceSource, RecordStore


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


def gather(
    case: Case, sources: list[EvidenceSource], fetched_at: datetime, after: list[EvidenceItem] | None = None
) -> list[EvidenceItem]:
    """Ask every source, in order, and chain what they return after the case's items so far."""
    found = [(source.name, reference, data) for source in sources for reference, data in source.fetch(case)]
    return chain(found, fetched_at, after)
