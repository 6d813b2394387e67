"""The Step Functions tasks of the approval (the investigation function's steps plan_approval,
next_approver, ask_approval and decision): what the state machine sends and what each step answers. The
JSON keys are the state machine's (camelCase); its paths read them. `Result` names a request's answer;
`Callback`, for the step the state machine waits on with a task token, what the approval page hands on."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from complaints.core.tasks import DecisionAnswer


class ApprovalPlan(BaseModel):
    level: str  # an approver level of the policy, or "none"
    timeoutSeconds: int


class ApprovalAsked(BaseModel):
    complaintId: str
    level: str


class DecisionRecorded(BaseModel):
    complaintId: str
    decision: Literal["approve", "reject"]


class PlanApproval(BaseModel):
    Result: ClassVar[type[BaseModel]] = ApprovalPlan

    step: Literal["plan_approval"]
    complaintId: str


class NextApprover(BaseModel):
    Result: ClassVar[type[BaseModel]] = ApprovalPlan

    step: Literal["next_approver"]
    complaintId: str
    level: str


class AskApproval(BaseModel):
    Result: ClassVar[type[BaseModel]] = ApprovalAsked
    Callback: ClassVar[type[BaseModel]] = DecisionAnswer

    step: Literal["ask_approval"]
    complaintId: str
    level: str
    token: str
    timeoutSeconds: float


class RecordDecision(BaseModel):
    Result: ClassVar[type[BaseModel]] = DecisionRecorded

    step: Literal["decision"]
    complaintId: str
    decision: dict[str, Any]
