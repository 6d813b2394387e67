"""Triage's rules as functions: the priority score, text similarity and duplicates, the spike check and
its hour buckets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from complaints.core.models import AmountIn, Case, CaseSummary, PriorityPoints, Status
from complaints.core.rules import DuplicatePolicy, PriorityPolicy, SpikePolicy


@dataclass(frozen=True)
class PriorityResult:
    priority: str
    score: int
    breakdown: list[PriorityPoints]


def score_priority(
    policy: PriorityPolicy,
    category: str,
    amount: AmountIn | None,
    earlier_complaints: int,
    threats: list[str],
    tier: str | None,
) -> PriorityResult:
    """Score a complaint and band it into P1-P4; every contribution is kept for the timeline."""
    parts = [
        PriorityPoints(reason="category", detail=category, points=policy.category_points.get(category, 0))
    ]
    if amount is not None:
        step = next((s for s in policy.amount_steps if amount.value >= s.min), None)
        if step is not None:
            parts.append(PriorityPoints(reason="amount", detail=f">= {step.min}", points=step.points))
    repeat = policy.repeat_complainant
    if earlier_complaints >= repeat.min_earlier:
        parts.append(
            PriorityPoints(
                reason="repeat_complainant",
                detail=f"{earlier_complaints} in {repeat.days} days",
                points=repeat.points,
            )
        )
    if threats:
        parts.append(PriorityPoints(reason="threat", detail=", ".join(threats), points=policy.threats.points))
    if tier and tier.lower() in policy.vip.tiers:
        parts.append(PriorityPoints(reason="vip", detail=tier.lower(), points=policy.vip.points))
    score = sum(part.points for part in parts)
    if category in policy.always_p1:
        return PriorityResult("P1", score, parts)
    for band in ("P1", "P2", "P3"):
        if score >= policy.bands[band]:
            return PriorityResult(band, score, parts)
    return PriorityResult("P4", score, parts)


_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _trigrams(text: str) -> set[str]:
    compact = _NOT_WORD.sub("", text.casefold())
    if len(compact) < 3:
        return {compact} if compact else set()
    return {compact[i : i + 3] for i in range(len(compact) - 2)}


def text_similarity(first: str, second: str) -> float:
    """Jaccard similarity of character trigrams: works for Chinese without spaces and for English."""
    a, b = _trigrams(first), _trigrams(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class DuplicateMatch:
    complaint_id: str
    reason: str  # "reference" or "text"
    detail: str


OPEN_STATUSES = {s for s in Status if s not in (Status.CLOSED, Status.RELATED)}


def _earlier(candidate: CaseSummary, case: Case) -> bool:
    """Filed before `case` (ids break a tie in the same microsecond)."""
    return (candidate.created_at, candidate.complaint_id) < (case.created_at, case.complaint_id)


def find_duplicate(
    policy: DuplicatePolicy, case: Case, recent: list[CaseSummary], now: datetime
) -> DuplicateMatch | None:
    """The customer's earlier open case, within the window, that this complaint repeats: by reference,
    else by near-identical text (unless the two name different ids under the same reference name).

    Only cases filed before this one count, so of two repeats the earlier is investigated."""
    since = now - timedelta(days=policy.window_days)
    candidates = [
        c for c in recent if _earlier(c, case) and c.status in OPEN_STATUSES and c.created_at >= since
    ]
    candidates.sort(key=lambda c: c.created_at)
    mine = {(name, value.strip().casefold()) for name, value in case.references.items()}
    values = {value for _, value in mine}
    for candidate in candidates:
        for name, value in candidate.references.items():
            if value.strip().casefold() in values:
                return DuplicateMatch(candidate.complaint_id, "reference", name)
    for candidate in candidates:
        if any(
            name in case.references and case.references[name].strip().casefold() != value.strip().casefold()
            for name, value in candidate.references.items()
        ):
            continue  # the same kind of reference with another id: another matter, however alike the text
        similarity = text_similarity(case.description, candidate.description)
        if similarity >= policy.text_similarity:
            return DuplicateMatch(candidate.complaint_id, "text", f"{similarity:.2f}")
    return None


@dataclass(frozen=True)
class SpikeCheck:
    category: str
    hour: str
    count: int
    baseline: float
    limit: float

    @property
    def is_spike(self) -> bool:
        return self.count >= self.limit


def spike_check(policy: SpikePolicy, category: str, hour: str, count: int, trailing: list[int]) -> SpikeCheck:
    """This hour's count against max(threshold, factor x the trailing hourly average)."""
    baseline = sum(trailing) / policy.trailing_hours
    return SpikeCheck(category, hour, count, baseline, max(policy.threshold, policy.factor * baseline))


def hour_bucket(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


def trailing_buckets(at: datetime, hours: int) -> list[str]:
    return [hour_bucket(at - timedelta(hours=back)) for back in range(1, hours + 1)]
