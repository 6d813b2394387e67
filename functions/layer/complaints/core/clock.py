"""Intake: parse a submission, store the case exactly once, start its workflow; status; reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
