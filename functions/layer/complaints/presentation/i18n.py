"""The message catalogue (config/messages.yaml): everything a complainant reads, per locale."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from complaints.core import yamltext
from complaints.core.locale import DEFAULT


@cache
def _catalogue() -> dict[str, dict[str, Any]]:
    text = resources.files("complaints").joinpath("config/messages.yaml").read_text(encoding="utf-8")
    return yamltext.safe_load(text)


def messages(locale: str) -> dict[str, Any]:
    """The message catalogue of one locale (falls back to English for an unknown locale)."""
    catalogue = _catalogue()
    return catalogue.get(locale) or catalogue[DEFAULT]
