"""The complainant's side of the conversation on the status page (with the access code): a message, and
files sent straight to storage.

A file goes in three steps: `start` gives a form signed for one file of a type that is allowed, of 1 byte
to the size limit, under the upload's prefix, for a few minutes (storage refuses anything else); the file
is posted to storage; then `finish` checks it again (size, declared type, and that its first bytes are that
type's), takes its SHA-256 and adds it to the conversation and the case's evidence chain. A file that fails
the check is deleted."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from complaints.core.clock import Clock, utc_now
from complaints.core.conversation import FileRef, Message, evidence_of
from complaints.core.errors import ConflictError, UploadNotFound, UploadRefused
from complaints.core.models import CaseEvent
from complaints.core.ports import Callbacks, Conversation, FileStore, UploadForm
from complaints.core.settings import Settings
from complaints.intake.access import check_access
from complaints.intake.answers import answer_question
from complaints.intake.ports import CaseRepository

# The types taken, and how their bytes begin (text: UTF-8 without NUL bytes).
ALLOWED_TYPES: dict[str, bytes | None] = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "application/pdf": b"%PDF-",
    "text/plain": None,
}
FORM_SECONDS = 15 * 60
MAX_TEXT = 5000
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\\\]")


@dataclass(frozen=True)
class StartedUpload:
    upload_id: str
    form: UploadForm
    max_bytes: int


def safe_filename(name: str | None) -> str:
    """The name a file is shown under: its last path part, no control characters, at most 200 of them."""
    base = re.split(r"[/\\\\]", name or "")[-1]
    cleaned = _UNSAFE.sub("", base).strip()[:200]
    return cleaned or "file"


def _looks_like(data: bytes, content_type: str) -> bool:
    magic = ALLOWED_TYPES[content_type]
    if magic is not None:
        return data.startswith(magic)
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Uploads:
    def __init__(
        self,
        cases: CaseRepository,
        conversation: Conversation,
        files: FileStore,
        settings: Settings,
        clock: Clock = utc_now,
        callbacks: Callbacks | None = None,
    ):
        self._callbacks = callbacks  # a message answers the investigator's question (intake/answers.py)
        self._cases = cases
        self._conversation = conversation
        self._files = files
        self._settings = settings
        self._clock = clock

    @staticmethod
    def _prefix(complaint_id: str, upload_id: str) -> str:
        return f"uploads/{complaint_id}/{upload_id}/"

    def start(
        self,
        complaint_id: str,
        access_code: str | None,
        filename: str | None,
        content_type: str,
        redirect: str | None = None,
    ) -> StartedUpload:
        """A signed form for one file. Raises CaseNotFound (wrong code), UploadRefused (a type not taken).
        `redirect`: where the browser goes once storage has the file (`{upload_id}` in it filled in)."""
        check_access(self._cases, complaint_id, access_code)
        content_type = (content_type or "").split(";")[0].strip().lower()
        if content_type not in ALLOWED_TYPES:
            raise UploadRefused(
                f"files of type {content_type or '(none)'} are not taken: {', '.join(ALLOWED_TYPES)}"
            )
        upload_id = secrets.token_urlsafe(12)
        form = self._files.upload_form(
            self._prefix(complaint_id, upload_id),
            content_type,
            self._settings.max_upload_bytes,
            FORM_SECONDS,
            redirect.replace("{upload_id}", upload_id) if redirect else None,
            safe_filename(filename) if filename else None,
        )
        return StartedUpload(upload_id, form, self._settings.max_upload_bytes)

    def finish(self, complaint_id: str, access_code: str | None, upload_id: str, key: str | None) -> Message:
        """Check the file posted under `key` (the form's key with the file's name in it, as S3 gives it
        back: in the redirect's query, or the app's) and add it to the conversation and the evidence chain;
        the same file finished again is the same message. Raises UploadNotFound, UploadRefused (the file
        is deleted)."""
        check_access(self._cases, complaint_id, access_code)
        prefix = self._prefix(complaint_id, upload_id or "")
        if (
            not _UPLOAD_ID.match(upload_id or "")
            or not (key or "").startswith(prefix)
            or "/" in key[len(prefix) :]
        ):
            raise UploadNotFound(upload_id)
        message_key = f"upload-{upload_id}"
        done = next((m for m in self._conversation.messages(complaint_id) if m.key == message_key), None)
        if done is not None:
            answer_question(self._cases, self._callbacks, complaint_id)
            return done
        stored = self._files.stat(key)
        if stored is None:
            raise UploadNotFound(upload_id)
        data = self._files.read(key)
        problem = None
        if stored.content_type not in ALLOWED_TYPES:
            problem = f"files of type {stored.content_type} are not taken"
        elif not 0 < len(data) <= self._settings.max_upload_bytes:
            problem = f"a file is 1 byte to {self._settings.max_upload_bytes} bytes"
        elif not _looks_like(data, stored.content_type):
            problem = f"the file is not a {stored.content_type} file"
        if problem:
            self._files.delete(key)
            raise UploadRefused(problem)
        file = FileRef(
            filename=safe_filename(stored.filename),
            content_type=stored.content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            location=self._files.location(key),
        )
        now = self._clock()
        message = Message(key=message_key, at=now, channel="web", author="customer", text="", files=[file])
        self._add(complaint_id, message)
        answer_question(self._cases, self._callbacks, complaint_id)
        return message

    def add_text(self, complaint_id: str, access_code: str | None, text: str) -> Message:
        """A message written on the status page; the same words sent twice are one message."""
        check_access(self._cases, complaint_id, access_code)
        text = (text or "").strip()
        if not text or len(text) > MAX_TEXT:
            raise UploadRefused(f"a message is 1 to {MAX_TEXT} characters")
        key = "web-" + hashlib.sha256(text.encode()).hexdigest()[:24]
        message = Message(key=key, at=self._clock(), channel="web", author="customer", text=text)
        self._add(complaint_id, message)
        answer_question(self._cases, self._callbacks, complaint_id)
        return message

    def _add(self, complaint_id: str, message: Message) -> None:
        event = CaseEvent(
            at=message.at,
            type="MESSAGE_RECEIVED",
            params={"channel": "web", "files": str(len(message.files))},
        )
        add_to_chain(self._conversation, complaint_id, message, event)


CHAIN_TRIES = 5


def add_to_chain(conversation: Conversation, complaint_id: str, message: Message, event: CaseEvent) -> bool:
    """Add the message, its files' evidence after the chain as it is now. Another write that takes the
    chain's next place meanwhile (the investigation's evidence as it starts, another file) is a conflict:
    the chain is read again and the message goes after it. False if the message was there already."""
    for attempt in range(CHAIN_TRIES):
        evidence = evidence_of(message, conversation.evidence(complaint_id), event.at)
        try:
            return conversation.add_message(complaint_id, message, event, evidence)
        except ConflictError:
            if attempt == CHAIN_TRIES - 1:
                raise
    raise AssertionError("unreachable")
