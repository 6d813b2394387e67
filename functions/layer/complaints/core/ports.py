"""The ports more than one stage needs: the workflow (Step Functions), the mailer, the callbacks that
answer a waiting task, the ledger, and the conversation with the complainant (intake writes it, the staff
pages and the ops console read it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from complaints.core.conversation import HeldMail, Message
from complaints.core.evidence import EvidenceItem
from complaints.core.models import CaseEvent


class Workflow(Protocol):
    def start(self, complaint_id: str) -> str:
        """Start (or find) the execution of this case and return its ARN. Raises WorkflowStartFailed."""

    def resume(self, complaint_id: str, attempt: int, status: str) -> str:
        """Start retry number `attempt` of a case at the stage of `status`; its ARN."""

    def running(self, execution_arn: str) -> bool:
        """Whether that execution is still running."""


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    text: str
    html: str
    tags: dict[str, str] = field(default_factory=dict)
    # Where a reply goes: the case's signed reply address (core/reply_address.py), or None (the sender).
    reply_to: str | None = None


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id."""


class Callbacks(Protocol):
    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """Answer a waiting task. Raises TaskGone when it no longer waits, CallbackFailed when Step
        Functions did not take the answer."""


class LedgerAdapter(Protocol):
    def pay(self, complaint_id: str, remedy_id: str, remedy: str, amount: Decimal, currency: str) -> str:
        """Pay (refund, re-settle, compensate) once per (complaint, remedy id); returns the payment
        reference, the same one for a repeat. Raises LedgerUnavailable."""


class Conversation(Protocol):
    def add_message(
        self,
        complaint_id: str,
        message: Message,
        event: CaseEvent,
        evidence: list[EvidenceItem] | None = None,
    ) -> bool:
        """Add a message to the case with its timeline event and its files' items of the evidence chain
        (which continue `evidence()`), counting it on the case, atomically. False (nothing written) when a
        message with its key is there already. Raises ConflictError when there is no such case, or when
        another write took the chain's next place first (read the chain again, and retry)."""

    def evidence(self, complaint_id: str) -> list[EvidenceItem]:
        """The case's evidence chain so far."""

    def messages(self, complaint_id: str) -> list[Message]:
        """The case's conversation, oldest first."""

    def hold_mail(self, mail: HeldMail) -> bool:
        """Keep an email for ops. False when it is held already (the same key at the same time)."""

    def held_mail(self, limit: int) -> list[HeldMail]:
        """The emails held for ops, the latest `limit` of them, newest first."""

    def remember_sent_mail(self, mail_id: str, complaint_id: str) -> None:
        """Note which case an email SES sent (its message id) was about."""

    def case_of_sent_mail(self, mail_id: str) -> str | None:
        """The case an email we sent was about; None for any other id."""


@dataclass(frozen=True)
class UploadForm:
    """Where and how a browser or an app posts one file straight to storage (S3's presigned POST): the URL
    and the form fields to send with the file, signed with the limits they state, until `expires_at`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    content_type: str

    @property
    def filename(self) -> str:
        return self.key.rpartition("/")[2]


class FileStore(Protocol):
    """The files complainants send (an S3 bucket)."""

    def upload_form(
        self,
        prefix: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        redirect: str | None,
        filename: str | None = None,
    ) -> UploadForm:
        """A form that lets one file of this type, 1 to `max_bytes` bytes, be posted under `prefix` and its
        name (`filename`, or the name the browser gives it) for `expires_in` seconds; then the browser is
        sent to `redirect` (None: the answer is 201)."""

    def stat(self, key: str) -> StoredFile | None:
        """The file posted under `key`, or None."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep a file that came another way (an email's attachment)."""

    def read(self, key: str) -> bytes:
        """The file's bytes. Raises UploadNotFound."""

    def delete(self, key: str) -> None:
        """Remove a file that is refused."""

    def location(self, key: str) -> str:
        """Where it is kept (an S3 URI), for the record."""

    def download_url(self, location: str, filename: str, expires_in: int) -> str:
        """A link that downloads a kept file for `expires_in` seconds (for staff)."""
