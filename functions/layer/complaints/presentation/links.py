"""The complainant's status link."""

from __future__ import annotations


def status_url(base_url: str, complaint_id: str, access_code: str) -> str:
    """The complainant's link to their case: the access code rides in the query string."""
    return f"{base_url.rstrip('/')}/complaints/{complaint_id}?code={access_code}"
