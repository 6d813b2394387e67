"""What ops people look at, as the ops console, its JSON views and the CLI show it: work queues with SLA
countdowns, pending approvals, cases needing attention, alerts, executions and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from complaints.core.conversation import Message
from complaints.core.models import Case, CaseEvent

PRIORITIES = ("P1", "P2", "P3", "P4")


EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class QueueEntry(BaseModel):
    complaintId: str
    department: str
    priority: str
    category: str | None = None
    status: str
    assignee: str | None = None
    createdAt: datetime
    resolutionDueAt: datetime
    secondsLeft: int  # policy seconds until the resolution target; negative when overdue
    overdue: bool
    # Waiting for the complainant's answer (AWAITING_CUSTOMER): the resolution target waits too (it moves on
    # by the time waited when the case resumes), so the case is not overdue meanwhile.
    paused: bool = False
    responseDueAt: datetime | None = None  # the regulatory final-response deadline: it never pauses


class PendingApproval(BaseModel):
    complaintId: str
    department: str | None = None
    level: str
    since: datetime
    ageSeconds: int
    priority: str | None = None
    category: str | None = None


class AttentionCase(BaseModel):
    complaintId: str
    reason: str
    since: datetime
    stage: str | None = None  # the status it failed in: where a retry resumes
    department: str | None = None


class Alert(BaseModel):
    at: datetime
    kind: str  # spike | needs_attention
    text: str
    complaintId: str | None = None


class ExecutionView(BaseModel):
    name: str
    complaintId: str
    status: str
    startedAt: datetime
    stoppedAt: datetime | None = None
    currentState: str | None = None  # the state entered last


class HistoryLine(BaseModel):
    at: datetime
    state: str | None
    what: str


class CaseOverview(BaseModel):
    case: Case
    timeline: list[CaseEvent]
    executions: list[ExecutionView]
    messages: list[Message] = Field(default_factory=list)  # the conversation with the complainant


def _what(event: dict[str, Any]) -> tuple[str | None, str]:
    """An execution history event in plain words: (state, what happened)."""
    kind = event["type"]
    if kind.endswith("StateEntered"):
        return event["stateEnteredEventDetails"]["name"], "entered"
    if kind.endswith("StateExited"):
        return event["stateExitedEventDetails"]["name"], "done"
    words = {
        "ExecutionStarted": "execution started",
        "ExecutionSucceeded": "execution finished: case closed or linked",
        "ExecutionFailed": "execution ended: the case needs attention",
        "ExecutionTimedOut": "execution timed out",
        "ExecutionAborted": "execution stopped by someone",
        "TaskScheduled": "step called its Lambda function",
        "TaskSubmitted": "waiting for a person to click their email link",
        "TaskSucceeded": "step answered",
        "TaskFailed": "step failed",
        "TaskTimedOut": "nobody answered in time",
        "LambdaFunctionScheduled": "step called its Lambda function",
        "LambdaFunctionSucceeded": "step answered",
        "LambdaFunctionFailed": "step failed",
    }
    text = words.get(kind, kind)
    for key in ("taskFailedEventDetails", "executionFailedEventDetails", "lambdaFunctionFailedEventDetails"):
        if key in event and event[key].get("error"):
            text += f" ({event[key]['error']})"
    return None, text
