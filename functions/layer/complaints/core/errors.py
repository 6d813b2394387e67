"""Domain errors. The data layer turns AWS errors into these; the API maps them to HTTP once;
functions called by Step Functions let them propagate so the state machine matches them by class name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a link's errors carry the link; core.tasks imports nothing from here
    from complaints.core.tasks import TaskLink


class ComplaintsError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidSubmission(ComplaintsError):
    """The request body names fields that are missing or invalid."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class MalformedBody(ComplaintsError):
    """The body cannot be parsed at all (broken JSON, bad encoding)."""


class PayloadTooLarge(ComplaintsError):
    """The body is over the size limit."""


class UnsupportedMediaType(ComplaintsError):
    """The body is neither JSON nor an HTML form."""


class IdempotencyKeyReused(ComplaintsError):
    """The same Idempotency-Key came with a different request."""


class CaseNotFound(ComplaintsError):
    """No case with that id (or the access code does not match: the caller cannot tell which)."""


class ConflictError(ComplaintsError):
    """A conditional write failed: someone else changed the item first."""


class TransientError(ComplaintsError):
    """AWS throttled or failed in a way worth retrying (Step Functions retries this by name)."""


class NotRetryable(ComplaintsError):
    """Only a case waiting in NEEDS_ATTENTION, whose execution has ended, can be retried."""


class WorkflowStartFailed(ComplaintsError):
    """StartExecution failed; the case stays RECEIVED for the reconciler."""


class MailRejected(ComplaintsError):
    """SES refused the message (unverified sender, invalid address): retrying will not help."""


class MailNotFound(ComplaintsError):
    """The stored email an intake event names is not there (deleted, or the event is not ours)."""


class UploadRefused(ComplaintsError):
    """A file the complainant sent is not taken: a type that is not allowed, over the size limit, or its
    bytes are not what its type says. Nothing is kept."""


class UploadNotFound(ComplaintsError):
    """No uploaded file under that id (never uploaded, or its form expired before it was used)."""


class LedgerUnavailable(ComplaintsError):
    """The payment system did not answer; Step Functions retries this by name, with backoff."""


class LinkForged(ComplaintsError):
    """No such link, or the signature does not match: the same 404 either way."""


class LinkDecided(ComplaintsError):
    """Used already (409)."""

    def __init__(self, link: TaskLink):
        super().__init__(link.link_id)
        self.link = link


class LinkGone(ComplaintsError):
    """The task moved on (escalated) or timed out (410); says who holds it now."""

    def __init__(self, link: TaskLink):
        super().__init__(link.link_id)
        self.link = link


class AnswerKept(ComplaintsError):
    """The answer is recorded, but the task it was for had moved on (timed out, or Step Functions could not
    be reached): it is kept on the link, and the step's next task takes it (202)."""

    def __init__(self, link: TaskLink):
        super().__init__(link.link_id)
        self.link = link


class TaskGone(ComplaintsError):
    """Step Functions no longer waits for this token (timed out, or answered)."""


class CallbackFailed(ComplaintsError):
    """Step Functions did not take the answer (throttled, unreachable): the task may still wait."""
