"""Email composition: a template rendered as text and HTML in the recipient's language, and names made
safe to greet with."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from complaints.core.ports import Email
from complaints.presentation.render import render

MAX_NAME = 60


# A name as people write theirs: letters (any script), spaces, apostrophes, hyphens, full stops and
# commas. No digits, no ":", "/", "@" or other punctuation, so no URL, address or phone number.
_NAME = re.compile(r"(?:[^\W\d_]|[ '’.,·・-])+")


# A full stop with a letter after it ("evil.example", "x.co"): mail clients autolink bare domains.
_DOMAIN_LIKE = re.compile(r"\.[^\W\d_]")


def plain_name(name: str | None) -> str | None:
    """The sender-supplied name if it is safe to mail out as a greeting, else None ("Dear customer").

    Anyone can submit a complaint naming any address, so the name is text a stranger puts into our
    email: it must not carry a link, a bare domain or a sales pitch. HTML escaping is not enough,
    since mail clients turn "http://..." and "evil.example" in the text part into links."""
    if not name:
        return None
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    if not text or len(text) > MAX_NAME or not _NAME.fullmatch(text) or _DOMAIN_LIKE.search(text):
        return None
    if not any(char.isalpha() for char in text):
        return None
    return text


def compose(
    template: str,
    to: list[str],
    subject: str,
    reply_to: str | None = None,
    **context: Any,
) -> Email:
    """Render `<template>.txt` and `<template>.html` with the same context."""
    return Email(
        to=to,
        subject=subject,
        text=render(f"{template}.txt", **context),
        html=render(f"{template}.html", **context),
        reply_to=reply_to,
    )
