"""The human tasks and their answers: a task link (what is stored for each email link), the investigator's
findings, an approver's decision and the customer's answer."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator


class LinkStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    SUPERSEDED = "SUPERSEDED"
    EXPIRED = "EXPIRED"


class TaskLink(BaseModel):
    model_config = ConfigDict(extra="ignore")

    link_id: str
    complaint_id: str
    kind: str  # "investigate"
    level: str  # investigator, lead, head
    recipient_id: str
    recipient_name: str
    recipient_email: str
    token: str
    status: LinkStatus = LinkStatus.OPEN
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    held_by: str | None = None  # who holds the task now, once this link is superseded
    answer: dict[str, Any] | None = None  # what the person answered (stored before it is handed on)
    kept: bool = False  # the answer reached no waiting task: it waits here for the step's next task
    # When its email went out (for its current wait): a wait asked again with the link unmailed (the send
    # or its record failed, the step was retried) sends it then.
    notified_at: datetime | None = None
    reminded: bool = False  # re-bound to a later wait of the same person: its email is a reminder

    @field_validator("answer", mode="before")
    @classmethod
    def _stored_as_json(cls, value: Any) -> Any:
        """Stored as JSON text: handed on exactly as it was given (DynamoDB numbers are Decimals)."""
        return json.loads(value) if isinstance(value, str) else value


REMEDIES = ("refund", "partial_refund", "resettle", "compensation", "account_fix", "explanation")


MONEY_REMEDIES = ("refund", "partial_refund", "resettle", "compensation")


# Why a complaint happened, for the root-cause review of recurring problems.
RootCause = Literal[
    "payment_processing",
    "settlement_error",
    "account_controls",
    "promotion_terms",
    "system_fault",
    "staff_conduct",
    "third_party",
    "customer_misunderstanding",
    "other",
]


ROOT_CAUSES: tuple[str, ...] = RootCause.__args__  # type: ignore[attr-defined]


Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Findings(BaseModel):
    """What the investigator found and proposes (the findings form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    summary: Text2000
    remedy: Literal["refund", "partial_refund", "resettle", "compensation", "account_fix", "explanation"]
    amount: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000000"), decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    customerMessage: Text2000
    rootCause: RootCause | None = Field(
        default=None, description="Why it happened, for the root-cause review (FCA DISP 1.3.3)"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in values.items()}
        return values

    @model_validator(mode="after")
    def _money(self) -> Findings:
        if self.remedy in MONEY_REMEDIES and (self.amount is None or self.currency is None):
            raise ValueError(f"a {self.remedy} needs an amount and a currency")
        return self


class Decision(BaseModel):
    """An approver's answer (the approval page's one form, two buttons)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["approve", "reject"]
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""

    @model_validator(mode="after")
    def _reasons_for_a_rejection(self) -> Decision:
        if self.decision == "reject" and not self.comment:
            raise ValueError("a rejection needs a comment for the investigator")
        return self


class CustomerAnswer(BaseModel):
    """The customer's answer on the resolution page."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resolved: Literal["yes", "no"]
    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""


# What a link's page hands the waiting Step Functions task (SendTaskSuccess's output): the task's result,
# which the state machine reads at $.answer.<key>.


class FindingsAnswer(BaseModel):
    findings: Findings


class DecisionAnswer(BaseModel):
    decision: Decision


class CustomerReply(BaseModel):
    answer: CustomerAnswer


class QuestionAnswer(BaseModel):
    """The investigator asks the complainant instead of giving findings (the findings page's other form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    question: Text2000


class CustomerAnswered(BaseModel):
    """What the complainant's next message hands the task that waits for their answer."""

    answered: Literal[True] = True
