"""The Step Functions tasks "Triage complaint" and "Watch for spikes": what the state machine sends each
function and what it answers. The JSON keys are the state machine's (camelCase); its paths read them."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel


class TriageOutcome(BaseModel):
    """Triaged (category, priority) or linked to an open case it duplicates (relatedTo)."""

    complaintId: str
    outcome: Literal["TRIAGED", "RELATED"]
    category: str | None = None
    priority: str | None = None
    relatedTo: str | None = None


class TriageRequest(BaseModel):
    Result: ClassVar[type[BaseModel]] = TriageOutcome

    complaintId: str


class SpikeWatched(BaseModel):
    complaintId: str
    count: int  # complaints in the category's hour, this one included
    alerted: bool  # this complaint's count raised the hour's one alert


class SpikeRequest(BaseModel):
    Result: ClassVar[type[BaseModel]] = SpikeWatched

    complaintId: str
