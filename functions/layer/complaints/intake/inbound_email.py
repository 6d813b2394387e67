"""An email as it arrives (raw RFC 5322 bytes, as SES stores it in S3 or an SMTP listener receives it),
read with the standard library's `email` package and its modern policy: who sent it, to which address,
how it threads (Message-ID, In-Reply-To, References), its text, and its attachments with their SHA-256.

Real mail is not always what it declares: text in GB2312 holds GBK (or GB18030) characters, so those
charsets are read as GB18030, their superset; an unknown charset is read as UTF-8 with replacement
characters rather than refused. HTML without a text part is reduced to its text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser

MAX_TEXT_CHARS = 20_000
# Declared charsets read as a superset that real mail under that name uses.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030"}
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # the From address, lower case
    sender_name: str
    recipients: list[str]  # To, Cc and Delivered-To addresses, lower case
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    text: str
    attachments: list[Attachment]
    # Sent by a program, not a person (an out-of-office reply, a bounce, a list): answering it could loop.
    automatic: bool = False

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs this one answers, nearest first (In-Reply-To, then References, last first)."""
        found = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return list(dict.fromkeys(found))


class _TextOfHtml(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    declared = (part.get_content_charset() or "utf-8").lower()
    charset = _SUPERSETS.get(declared, declared)
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _addresses(message: Message, *headers: str) -> list[str]:
    values = [str(value) for header in headers for value in message.get_all(header, [])]
    return [address.lower() for _, address in getaddresses(values) if "@" in address]


def _message_ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(str(value or ""))


_AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster"})


def _automatic(message: Message, sender: str) -> bool:
    """RFC 3834's Auto-Submitted, the Precedence that lists and responders set, the headers of common
    auto-responders, a delivery report, or a mail system's own address."""
    submitted = str(message["Auto-Submitted"] or "no").strip().lower()
    precedence = str(message["Precedence"] or "").strip().lower()
    return (
        submitted != "no"
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or any(message[header] is not None for header in ("X-Autoreply", "X-Autorespond", "List-Id"))
        or message.get_content_type() == "multipart/report"
        or sender.partition("@")[0] in _AUTOMATIC_SENDERS
    )


def parse(raw: bytes) -> InboundEmail:
    message = message_from_bytes(raw, policy=email_policy.default)
    assert isinstance(message, EmailMessage)
    sender = message["From"]
    addresses: tuple[Address, ...] = getattr(sender, "addresses", ()) if sender is not None else ()
    first = addresses[0] if addresses else None
    plain, html, attachments = [], [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename or disposition == "attachment":
            attachments.append(
                Attachment(
                    filename=filename or "attachment",
                    content_type=part.get_content_type(),
                    data=part.get_payload(decode=True) or b"",
                )
            )
        elif part.get_content_type() == "text/plain":
            plain.append(_decoded(part))
        elif part.get_content_type() == "text/html":
            html.append(_decoded(part))
    text = "\n\n".join(plain) if plain else "\n\n".join(html_to_text(h) for h in html)
    reply_to = _message_ids(message["In-Reply-To"])
    address = first.addr_spec.lower() if first else ""
    return InboundEmail(
        sender=address,
        sender_name=(first.display_name if first else ""),
        recipients=_addresses(message, "To", "Cc", "Delivered-To"),
        subject=str(message["Subject"] or "").strip(),
        message_id=next(iter(_message_ids(message["Message-ID"])), None),
        in_reply_to=reply_to[0] if reply_to else None,
        references=_message_ids(message["References"]),
        text=text.strip()[:MAX_TEXT_CHARS],
        attachments=attachments,
        automatic=_automatic(message, address),
    )
