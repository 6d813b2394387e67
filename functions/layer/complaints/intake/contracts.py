"""The Step Functions task "Send acknowledgement": what the state machine sends the acknowledge function
and what it answers. The JSON keys are the state machine's (camelCase); its paths read them."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel


class Acknowledged(BaseModel):
    complaintId: str
    acknowledgedAt: str  # ISO 8601


class AcknowledgeRequest(BaseModel):
    Result: ClassVar[type[BaseModel]] = Acknowledged

    complaintId: str
