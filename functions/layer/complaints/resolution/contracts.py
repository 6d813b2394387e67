"""The Step Functions tasks after approval (the remedy function's steps apply, ask_customer, answer, final
and close): what the state machine sends and what each step answers. The JSON keys are the state
machine's (camelCase); its paths read them. `Result` names a request's answer; `Callback`, for the step
the state machine waits on with a task token, what the customer's page hands on."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from complaints.core.tasks import CustomerReply


class RemedyApplied(BaseModel):
    complaintId: str
    reference: str  # the ledger's, or "none" for a remedy that pays nothing
    answerSeconds: int  # how long the customer has to answer


class CustomerAsked(BaseModel):
    complaintId: str


class AnswerRecorded(BaseModel):
    complaintId: str
    outcome: Literal["close", "reopen", "final"]


class FinalResponseSent(BaseModel):
    complaintId: str


class Closed(BaseModel):
    complaintId: str
    status: Literal["CLOSED"] = "CLOSED"


class Apply(BaseModel):
    Result: ClassVar[type[BaseModel]] = RemedyApplied

    step: Literal["apply"]
    complaintId: str


class AskCustomer(BaseModel):
    Result: ClassVar[type[BaseModel]] = CustomerAsked
    Callback: ClassVar[type[BaseModel]] = CustomerReply

    step: Literal["ask_customer"]
    complaintId: str
    token: str
    timeoutSeconds: float


class Answer(BaseModel):
    Result: ClassVar[type[BaseModel]] = AnswerRecorded

    step: Literal["answer"]
    complaintId: str
    answer: dict[str, Any] | None = None


class FinalResponse(BaseModel):
    Result: ClassVar[type[BaseModel]] = FinalResponseSent

    step: Literal["final"]
    complaintId: str


class Close(BaseModel):
    Result: ClassVar[type[BaseModel]] = Closed

    step: Literal["close"]
    complaintId: str
