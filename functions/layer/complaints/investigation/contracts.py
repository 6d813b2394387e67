"""The Step Functions tasks of the investigation (the investigation function's steps gather, clocks, ask
and findings): what the state machine sends and what each step answers. The JSON keys are the state
machine's (camelCase); its paths read them. `Result` names a request's answer; `Callback`, for a step
the state machine waits on with a task token, the answer the link's page hands the waiting task."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from complaints.core.tasks import FindingsAnswer


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
    Callback: ClassVar[type[BaseModel]] = FindingsAnswer

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
