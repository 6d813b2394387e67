"""The complainant's answer to a question: their next message, on the status page or by email, ends the
Step Functions task that waits for it (its token is on the case), and the investigation resumes."""

from __future__ import annotations

from complaints.core.errors import CallbackFailed, TaskGone, TransientError
from complaints.core.models import Status
from complaints.core.ports import Callbacks
from complaints.core.tasks import CustomerAnswered
from complaints.intake.ports import CaseRepository


def answer_question(cases: CaseRepository, callbacks: Callbacks | None, complaint_id: str) -> bool:
    """After the complainant's message is stored: if the case waits for their answer, end that wait. True
    if this message ended it.

    Read after the message is stored, as the wait stores its token and then reads the case: whichever
    writes last sees the other. A wait already over (timed out, or answered by another message) needs
    nothing: the next one (the reminder's) or the resume sees the message. Step Functions out of reach is
    a TransientError: the message is stored once, and sending it again answers the wait."""
    if callbacks is None:
        return False
    case, _ = cases.get(complaint_id)
    if case.status != Status.AWAITING_CUSTOMER or not case.question_token:
        return False
    try:
        callbacks.succeed(case.question_token, CustomerAnswered().model_dump())
    except TaskGone:
        return False
    except CallbackFailed as error:
        raise TransientError(f"answering the wait for the complainant: {error}") from error
    return True
