"""Daily report counters: what each stage adds to the figures regulators and managers ask for.

A report reads these counters, never the cases, so what it reads grows with the days it covers and
not with the number of complaints. Each counter is added in the same DynamoDB transaction as the case
change it counts (triage, escalation, NEEDS_ATTENTION, closure): a retried step whose change was made
already counts nothing, so every figure counts each event exactly once.

A day's counters are spread over SHARDS items, chosen by complaint id, so that concurrent cases do not
all write one item. Counter names are `<figure>` or `<figure>#<value>`; the DynamoDB adapters store them.

Durations are policy time: the real time taken multiplied by the stack's time scale (1 on AWS; the
embedded stack runs its clocks faster), so a case handled in 30 s at a scale of 3,600 counts as 30 h.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from complaints.core.models import Case

SHARDS = 8


Counters = dict[str, int | Decimal]


def day_of(at: datetime, timezone: str) -> str:
    """The calendar day (in the policy's time zone) an event is counted on."""
    return at.astimezone(ZoneInfo(timezone)).date().isoformat()


def shard_of(complaint_id: str) -> int:
    return int(hashlib.sha256(complaint_id.encode()).hexdigest()[:8], 16) % SHARDS


@dataclass(frozen=True)
class Tally:
    """Counters to add to one day's figures (in the shard of the complaint that caused them)."""

    day: str
    shard: int
    counters: Counters


def tally(at: datetime, timezone: str, complaint_id: str, counters: Counters) -> Tally:
    return Tally(day_of(at, timezone), shard_of(complaint_id), counters)


def received(channel: str) -> Counters:
    """A complaint stored by intake: the volume by day and channel (every complaint, whatever happens
    to it later)."""
    return {"received": 1, f"channel#{channel}": 1}


def triaged(category: str, priority: str | None) -> Counters:
    """A complaint triaged (or linked to an earlier case, which has no priority of its own)."""
    counters: Counters = {f"category#{category}": 1}
    if priority:
        counters[f"priority#{priority}"] = 1
    return counters


def escalated(stage: str, level: str) -> Counters:
    """An escalation: `stage` is investigation or approval, `level` who it went to."""
    return {f"escalation#{stage}#{level}": 1}


def customer_waited(policy_seconds: float, answered: bool) -> Counters:
    """A case waited this long for its complainant's answer to a question (its SLA paused), answered or
    not."""
    return {
        f"customer_wait#{'answered' if answered else 'unanswered'}": 1,
        "customer_wait_minutes": max(math.ceil(policy_seconds / 60), 0),
    }


def needs_attention() -> Counters:
    return {"needs_attention": 1}


def _policy_seconds(start: datetime, end: datetime, time_scale: float) -> float:
    return (end - start).total_seconds() * time_scale


def _within(case: Case, at: datetime | None, due: datetime | None, time_scale: float) -> bool | None:
    """Whether `at` came within the time the case had until `due`; None if either is unknown."""
    if at is None or due is None:
        return None
    return _policy_seconds(case.created_at, at, time_scale) <= (due - case.created_at).total_seconds()


def closed(case: Case, closed_at: datetime, time_scale: float) -> Counters:
    """A case closed: SLA compliance, time to resolve, remedy, satisfaction and root cause."""
    counters: Counters = {"closed": 1}
    final_at = case.final_response_sent_at or case.resolution_sent_at
    checks = {
        "first_response": _within(case, case.acknowledged_at, case.first_response_due_at, time_scale),
        "resolution_sla": _within(case, final_at, case.resolution_due_at, time_scale),
        "final_response": _within(case, final_at, case.response_due_at, time_scale),
    }
    for figure, met in checks.items():
        if met is not None:
            counters[f"{figure}#{'met' if met else 'missed'}"] = 1
    minutes = math.ceil(_policy_seconds(case.created_at, closed_at, time_scale) / 60)
    counters[f"ttr_minutes#{max(minutes, 0)}"] = 1
    findings = case.findings or {}
    remedy = findings.get("remedy")
    if remedy:
        counters[f"remedy#{remedy}"] = 1
        if findings.get("amount") is not None and findings.get("currency"):
            counters[f"amount#{remedy}#{findings['currency']}"] = Decimal(str(findings["amount"]))
        cause = findings.get("rootCause") or "unspecified"
        counters[f"cause#{case.category or 'other'}#{cause}"] = 1
    if case.csat_rating is not None:
        counters[f"csat#{case.csat_rating}"] = 1
    return counters
