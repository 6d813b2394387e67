"""The conversation with a complainant: the messages of a case (each email or note, with the files it
brought), the emails held for ops, and the messages as the complainant's status view shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from complaints.core.evidence import EvidenceItem, chain


class FileRef(BaseModel):
    """A file the complainant sent: what it is, its SHA-256 (its entry in the evidence chain) and where its
    bytes are kept (an S3 URI)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    location: str


class Message(BaseModel):
    """One message of a case's conversation with its complainant. `key` is stable for one source message
    (an email's id), so a message delivered twice is kept once."""

    key: str
    at: datetime
    channel: str
    author: Literal["customer", "staff"]
    subject: str | None = None
    text: str
    files: list[FileRef] = Field(default_factory=list)


class HeldMail(BaseModel):
    """An email not added to any case, waiting for ops: from another sender than the case's customer, to a
    reply address that does not verify, or flagged by the mail scan. Ops read it; nobody else sees it."""

    key: str
    at: datetime
    reason: Literal[
        "other_sender",
        "unknown_reply_address",
        "unknown_case",
        "other_mailbox",
        "spam",
        "virus",
        "unreadable",
    ]
    sender: str
    subject: str = ""
    claimed_case: str | None = None  # the case its reply address or thread pointed at
    location: str  # the raw message (an S3 URI)


class FileView(BaseModel):
    filename: str
    contentType: str
    size: int
    sha256: str


class MessageView(BaseModel):
    """One message of the conversation, as its complainant sees it."""

    at: datetime
    author: Literal["customer", "staff"]
    channel: str
    subject: str | None = None
    text: str
    files: list[FileView] = Field(default_factory=list)


def evidence_of(message: Message, chain_so_far: list[EvidenceItem], at: datetime) -> list[EvidenceItem]:
    """The items a message's files add to the case's evidence chain, after the items so far: each file by
    its SHA-256, size, type and where it is kept."""
    found = [
        (
            "complainant",
            file.filename,
            {
                "sha256": file.sha256,
                "size": str(file.size),  # a string: DynamoDB would give a number back as a Decimal
                "contentType": file.content_type,
                "location": file.location,
                "message": message.key,
            },
        )
        for file in message.files
    ]
    return chain(found, at, chain_so_far)


def message_view(message: Message) -> MessageView:
    """A message as its complainant sees it: where its files are kept is not theirs to know."""
    return MessageView(
        at=message.at,
        author=message.author,
        channel=message.channel,
        subject=message.subject,
        text=message.text,
        files=[
            FileView(filename=f.filename, contentType=f.content_type, size=f.size, sha256=f.sha256)
            for f in message.files
        ],
    )
