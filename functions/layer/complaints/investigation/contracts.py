"""The Step Functions tasks of the investigation (the investigation function's steps gather, clocks, ask,
question, await_answer, resume and findings): what the state machine sends and what each step answers.
The JSON keys are the state machine's (camelCase); its paths read them. `Result` names a request's answer;
`Callback`, for a step the state machine waits on with a task token, the answer the link's page (or the
complainant's message) hands the waiting task."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from complaints.core.tasks import CustomerAnswered, FindingsAnswer, QuestionAnswer


class Gathered(BaseModel):
    complaintId: str
    items: int  # evidence items in the chain


class Clocks(BaseModel):
    """Real seconds each investigation wait lasts (policy time divided by the time scale)."""

    reminderSeconds: int
    finalSeconds: int
    escalationSeconds: int


class Asked(BaseModel):
    complaintId: str
    level: Literal["investigator", "lead", "head"]
    reminder: bool  # the same link again, as the reminder at 75%
    slaMissed: bool  # the lead takes over because the investigator's resolution SLA ran out


class QuestionPut(BaseModel):
    """The question is on the case: real seconds to wait for the answer, then after the reminder."""

    complaintId: str
    answerSeconds: int
    reminderSeconds: int


class AnswerAwaited(BaseModel):
    complaintId: str
    reminder: bool
    answered: bool  # the complainant had answered already: the wait was answered at once


class Resumed(BaseModel):
    """The investigation goes on after the question: its clocks from the moved resolution target, and who
    asked (the wait it goes back to)."""

    complaintId: str
    level: Literal["investigator", "lead", "head"]
    answered: bool
    reminderSeconds: int
    finalSeconds: int
    escalationSeconds: int


class FindingsRecorded(BaseModel):
    complaintId: str
    remedy: str


class Gather(BaseModel):
    Result: ClassVar[type[BaseModel]] = Gathered

    step: Literal["gather"]
    complaintId: str


class SetClocks(BaseModel):
    Result: ClassVar[type[BaseModel]] = Clocks

    step: Literal["clocks"]
    complaintId: str


class Ask(BaseModel):
    Result: ClassVar[type[BaseModel]] = Asked
    Callback: ClassVar[type[BaseModel]] = FindingsAnswer | QuestionAnswer  # type: ignore[assignment]

    step: Literal["ask"]
    complaintId: str
    level: Literal["investigator", "lead", "head"]
    token: str
    timeoutSeconds: float


class RecordFindings(BaseModel):
    Result: ClassVar[type[BaseModel]] = FindingsRecorded

    step: Literal["findings"]
    complaintId: str
    findings: dict[str, Any]


class PutQuestion(BaseModel):
    Result: ClassVar[type[BaseModel]] = QuestionPut

    step: Literal["question"]
    complaintId: str
    question: str


class AwaitAnswer(BaseModel):
    Result: ClassVar[type[BaseModel]] = AnswerAwaited
    Callback: ClassVar[type[BaseModel]] = CustomerAnswered

    step: Literal["await_answer"]
    complaintId: str
    token: str
    reminder: bool


class Resume(BaseModel):
    Result: ClassVar[type[BaseModel]] = Resumed

    step: Literal["resume"]
    complaintId: str
