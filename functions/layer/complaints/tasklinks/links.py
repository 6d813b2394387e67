"""Links people click in emails, bound to one Step Functions task each.

A link carries an opaque id (128 random bits) and an HMAC over what it is for; the task token stays in
DynamoDB. A kept answer (one that reached no waiting task) is handed on to the step's next task."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from complaints.core.errors import CallbackFailed, TaskGone, TransientError
from complaints.core.models import CaseEvent
from complaints.core.ports import Callbacks
from complaints.core.tasks import TaskLink
from complaints.tasklinks.ports import KeptAnswers


def new_link_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


def open_link(
    complaint_id: str,
    kind: str,
    level: str,
    recipient: Any,
    token: str,
    now: datetime,
    timeout_seconds: float,
) -> TaskLink:
    """A new OPEN link for one waiting task, addressed to one recipient (anything with id, name, email)."""
    return TaskLink(
        link_id=new_link_id(),
        complaint_id=complaint_id,
        kind=kind,
        level=level,
        recipient_id=recipient.id,
        recipient_name=recipient.name,
        recipient_email=recipient.email,
        token=token,
        created_at=now,
        expires_at=now + timedelta(seconds=timeout_seconds),
    )


def signature(key: bytes, link_id: str, complaint_id: str, kind: str, recipient_id: str) -> str:
    message = "|".join((link_id, complaint_id, kind, recipient_id)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def link_url(base_url: str, key: bytes, link: TaskLink) -> str:
    sig = signature(key, link.link_id, link.complaint_id, link.kind, link.recipient_id)
    return f"{base_url.rstrip('/')}/tasks/{link.link_id}?sig={sig}"


def signature_matches(key: bytes, link: TaskLink, sig: str | None) -> bool:
    if not sig:
        return False
    expected = signature(key, link.link_id, link.complaint_id, link.kind, link.recipient_id)
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a mismatch).
    return hmac.compare_digest(expected.encode(), sig.encode("utf-8", "surrogatepass"))


def expires(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


def hand_on(
    repository: KeptAnswers, callbacks: Callbacks, link: TaskLink | None, token: str, now: datetime
) -> bool:
    """A kept answer (it reached no waiting task) answers this step's new task at once: no email, no
    second wait. True if there was one."""
    if link is None or not link.kept or link.answer is None:
        return False
    # Marked first, so that a later wait of this step (after a rejection, say) never takes it again.
    event = CaseEvent(at=now, type="ANSWER_HANDED_ON", params={"assignee": link.recipient_name})
    repository.hand_on(link.link_id, event)
    try:
        callbacks.succeed(token, link.answer)
    except (TaskGone, CallbackFailed) as error:
        repository.keep_answer(link.link_id)  # kept again; the step's retry hands it on
        raise TransientError(f"handing on a kept answer: {type(error).__name__}") from error
    return True
