"""The management report: built from the daily counters (core/stats.py), never from the cases.

`build_report` is pure: it sums the counter items of the days asked for (every shard of every day)
and derives the figures. The time to resolve is exact to the minute: the counters keep how many cases
took each whole number of minutes, and the percentiles are nearest-rank over those.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

COMPLIANCE = ("first_response", "resolution_sla", "final_response")


class Compliance(BaseModel):
    met: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def rate(self) -> float | None:
        """Share met, 0..1; None when nothing was measured."""
        return self.met / self.total if self.total else None


class RemedyTotal(BaseModel):
    count: int = 0
    amounts: dict[str, Decimal] = Field(default_factory=dict)  # by currency


class Cause(BaseModel):
    category: str
    cause: str
    count: int


class CustomerWaits(BaseModel):
    """Questions to complainants: how often a case waited for an answer (its SLA paused), how long."""

    answered: int = 0
    unanswered: int = 0
    total_hours: float = 0
    average_hours: float | None = None


class Report(BaseModel):
    start: date
    end: date
    items_read: int = Field(description="counter items read to build it")
    received: int = 0
    by_day: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, int] = Field(default_factory=dict)
    by_channel: dict[str, int] = Field(default_factory=dict)
    by_priority: dict[str, int] = Field(default_factory=dict)
    closed: int = 0
    compliance: dict[str, Compliance] = Field(default_factory=dict)
    ttr_median_hours: float | None = None
    ttr_p90_hours: float | None = None
    remedies: dict[str, RemedyTotal] = Field(default_factory=dict)
    csat_distribution: dict[int, int] = Field(default_factory=dict)
    csat_average: float | None = None
    escalations: dict[str, int] = Field(default_factory=dict)  # "investigation: lead" -> count
    needs_attention: int = 0
    customer_waits: CustomerWaits = Field(default_factory=CustomerWaits)
    top_causes: list[Cause] = Field(default_factory=list)


def nearest_rank(distribution: dict[int, int], share: float) -> int | None:
    """The smallest value with at least `share` of the observations at or below it."""
    total = sum(distribution.values())
    if not total:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(distribution):
        seen += distribution[value]
        if seen >= rank:
            return value
    return None  # unreachable: seen reaches total


def _hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def build_report(items: Iterable[dict[str, Any]], start: date, end: date, top: int = 10) -> Report:
    """The report for the days start..end (inclusive) from their counter items."""
    items = list(items)
    totals: Counter[str] = Counter()
    amounts: dict[str, Decimal] = {}
    by_day: Counter[str] = Counter()
    for item in items:
        for name, value in item.items():
            if name in ("pk", "sk", "kind", "day"):
                continue
            if name.startswith("amount#"):
                amounts[name] = amounts.get(name, Decimal(0)) + Decimal(str(value))
            else:
                totals[name] += int(value)
        by_day[item["day"]] += int(item.get("received", 0))

    def group(prefix: str) -> dict[str, int]:
        found = {k.removeprefix(prefix): v for k, v in totals.items() if k.startswith(prefix)}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    report = Report(start=start, end=end, items_read=len(items))
    report.received = totals["received"]
    report.by_day = {day: by_day[day] for day in sorted(by_day) if by_day[day]}
    report.by_category = group("category#")
    report.by_channel = group("channel#")
    report.by_priority = dict(sorted(group("priority#").items()))
    report.closed = totals["closed"]
    report.compliance = {
        figure: Compliance(met=totals[f"{figure}#met"], missed=totals[f"{figure}#missed"])
        for figure in COMPLIANCE
    }
    ttr = {int(k): v for k, v in group("ttr_minutes#").items()}
    report.ttr_median_hours = _hours(nearest_rank(ttr, 0.5))
    report.ttr_p90_hours = _hours(nearest_rank(ttr, 0.9))
    for remedy, count in group("remedy#").items():
        report.remedies[remedy] = RemedyTotal(count=count)
    for name, total in sorted(amounts.items()):
        _, remedy, currency = name.split("#", 2)
        report.remedies.setdefault(remedy, RemedyTotal()).amounts[currency] = total
    csat = {int(k): v for k, v in group("csat#").items()}
    report.csat_distribution = {rating: csat.get(rating, 0) for rating in range(1, 6)}
    answered = sum(csat.values())
    if answered:
        report.csat_average = round(sum(r * n for r, n in csat.items()) / answered, 2)
    report.escalations = {
        name.replace("#", ": "): count for name, count in sorted(group("escalation#").items())
    }
    report.needs_attention = totals["needs_attention"]
    waits = totals["customer_wait#answered"] + totals["customer_wait#unanswered"]
    report.customer_waits = CustomerWaits(
        answered=totals["customer_wait#answered"],
        unanswered=totals["customer_wait#unanswered"],
        total_hours=_hours(totals["customer_wait_minutes"]) or 0,
        average_hours=_hours(round(totals["customer_wait_minutes"] / waits)) if waits else None,
    )
    causes = [
        Cause(category=name.split("#", 1)[0], cause=name.split("#", 1)[1], count=count)
        for name, count in group("cause#").items()
    ]
    report.top_causes = causes[:top]
    return report
