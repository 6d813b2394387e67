"""Email: rendering from templates in the recipient's language, and sending through SES (raw MIME,
so every message has a text and an HTML part)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from complaints.errors import ComplaintsError, TransientError
from complaints.web import render


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    text: str
    html: str
    tags: dict[str, str] = field(default_factory=dict)
    # The same message sent again (a step retried after a crash between sending it and recording that it
    # went) keeps its Message-ID, so mail clients show it once. None: a new id.
    message_key: str | None = None


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


class MailRejected(ComplaintsError):
    """SES refused the message (unverified sender, invalid address): retrying will not help."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id."""


def compose(
    template: str, to: list[str], subject: str, message_key: str | None = None, **context: Any
) -> Email:
    """Render `<template>.txt` and `<template>.html` with the same context."""
    return Email(
        to=to,
        subject=subject,
        text=render(f"{template}.txt", **context),
        html=render(f"{template}.html", **context),
        message_key=message_key,
    )


class SesMailer:
    """Mailer on SES v2 (a boto3 `sesv2` client)."""

    _TRANSIENT = frozenset(
        {"TooManyRequestsException", "LimitExceededException", "InternalFailure", "Throttling"}
    )

    def __init__(self, client: Any, sender: str):
        self._client = client
        self._sender = sender

    def send(self, email: Email) -> str:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        domain = self._sender.rpartition("@")[2] or None
        message["Message-ID"] = (
            f"<{email.message_key}@{domain or 'localhost'}>"
            if email.message_key
            else make_msgid(domain=domain)
        )
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            sent = self._client.send_email(
                FromEmailAddress=self._sender,
                Content={"Raw": {"Data": message.as_bytes()}},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in self._TRANSIENT:
                raise TransientError(f"SES {code}") from error
            raise MailRejected(f"SES {code}") from error
        except BotoCoreError as error:
            raise TransientError(type(error).__name__) from error
        return sent["MessageId"]
