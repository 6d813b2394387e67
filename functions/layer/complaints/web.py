"""HTML and email rendering with Jinja2 (templates/ in this package; autoescaped)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def local_time(value: datetime, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    text = value.astimezone(ZoneInfo(zone)).strftime(fmt)
    return f"{text} ({zone})" if "%H" in fmt else text


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("complaints", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = local_time
    return env


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
