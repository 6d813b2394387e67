"""The evidence chain: each item hashed with the one before it (SHA-256), so any later change shows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

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
    found: list[tuple[str, str, dict[str, Any]]],
    fetched_at: datetime,
    after: list[EvidenceItem] | None = None,
) -> list[EvidenceItem]:
    """Link (source, reference, data) triples into a hash chain, in order, after the chain `after` (the
    case's items so far: a file the complainant sent before the investigation began comes first)."""
    earlier = sorted(after or [], key=lambda item: item.seq)
    items, previous = [], earlier[-1].hash if earlier else GENESIS
    for seq, (source, reference, data) in enumerate(found, start=len(earlier)):
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
