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
    env = Environment(
        loader=PackageLoader("complaints", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = local_time
    env.filters["duration"] = duration
    return env


def base_path(event: dict[str, Any]) -> str:
    """The path the API is served under, as the browser sees it: "/prod" on API Gateway's own domain,
    a custom domain's base path mapping, or "" at a domain's root. API Gateway gives the request's full
    path in requestContext.path and the resource's path in path; the difference is the prefix."""
    full = (event.get("requestContext") or {}).get("path") or ""
    path = event.get("path") or ""
    if path and full.endswith(path):
        return full[: len(full) - len(path)].rstrip("/")
    stage = (event.get("requestContext") or {}).get("stage")
    return f"/{stage}" if stage and stage != "$default" else ""


def base_url(event: dict[str, Any]) -> str:
    """The API's public URL for links in emails, from the request (host, scheme and base path)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    host = (event.get("requestContext") or {}).get("domainName") or headers.get("host", "")
    scheme = headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{host}{base_path(event)}"


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
