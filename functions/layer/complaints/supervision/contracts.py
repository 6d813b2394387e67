"""The Step Functions task "Record failure": what the state machine sends the function (a failed state's
name and error, from the Pass state before it) and what it answers."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field


class StepError(BaseModel):
    """A Catch's error output, as Step Functions writes it."""

    Error: str = "Unknown"
    Cause: str = ""


class FailureRecorded(BaseModel):
    complaintId: str
    status: Literal["NEEDS_ATTENTION"] = "NEEDS_ATTENTION"
    reason: str


class FailureRequest(BaseModel):
    Result: ClassVar[type[BaseModel]] = FailureRecorded

    complaintId: str
    state: str
    execution: str = ""
    error: StepError = Field(default_factory=StepError)
