"""Retries inside a step, for writes that must not fail the step once an email has gone out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from complaints.core.errors import TransientError

T = TypeVar("T")


def recorded_after_sending(
    record: Callable[[], T],
    attempts: int = 5,
    first_pause: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Record that a message went out, retrying a TransientError here (0.2, 0.4, 0.8, 1.6 s apart): the
    message is sent, so failing the step now would have the state machine's retry send it again."""
    for attempt in range(attempts):
        try:
            return record()
        except TransientError:
            if attempt == attempts - 1:
                raise
            sleep(first_pause * 2**attempt)
    raise AssertionError("unreachable")
