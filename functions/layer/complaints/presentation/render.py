"""HTML and email rendering with Jinja2 (presentation/templates; autoescaped)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from jinja2 import Environment


def local_time(value: datetime, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    text = value.astimezone(ZoneInfo(zone)).strftime(fmt)
    return f"{text} ({zone})" if "%H" in fmt else text


def duration(seconds: float) -> str:
    """A span in words for countdowns: "3 d 4 h", "2 h 15 min", "40 s"."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("complaints.presentation", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = local_time
    env.filters["duration"] = duration
    return env


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
