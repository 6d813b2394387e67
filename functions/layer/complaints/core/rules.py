"""The workflow's rules from config/triage.yaml: priority scoring, duplicates, spikes, the roster and its
approvers, approval thresholds, and the customer's answer window."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from complaints.core import yamltext


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AmountStep(_Config):
    min: Decimal
    points: int


class RepeatRule(_Config):
    min_earlier: int = Field(gt=0)
    days: int = Field(gt=0)
    points: int


class VipRule(_Config):
    points: int
    tiers: tuple[str, ...]


class ThreatRule(_Config):
    points: int
    phrases: dict[str, tuple[str, ...]]


class PriorityPolicy(_Config):
    bands: dict[str, int]
    always_p1: tuple[str, ...] = ()
    category_points: dict[str, int]
    amount_steps: tuple[AmountStep, ...]
    repeat_complainant: RepeatRule
    vip: VipRule
    threats: ThreatRule


class DuplicatePolicy(_Config):
    window_days: int = Field(gt=0)
    text_similarity: float = Field(gt=0, le=1)
    max_candidates: int = Field(gt=0, le=100)


class SpikePolicy(_Config):
    threshold: int = Field(gt=0)
    factor: float = Field(gt=0)
    trailing_hours: int = Field(gt=0, le=100)
    example_ids: int = Field(ge=0, le=20)


class Person(_Config):
    id: str
    name: str
    email: str


class Team(_Config):
    approvers: dict[str, Person]
    lead: Person
    head: Person
    investigators: tuple[Person, ...] = Field(min_length=1)


class Threshold(_Config):
    above: Decimal
    level: str


class ApprovalPolicy(_Config):
    levels: tuple[str, ...] = Field(min_length=1)
    thresholds: tuple[Threshold, ...]
    at_least: dict[str, str] = Field(default_factory=dict)
    never: tuple[str, ...] = ()
    timeout_hours: float = Field(gt=0)

    def required_level(self, remedy: str, amount: Decimal | None) -> str | None:
        """The first approver's level for a remedy, or None when it needs no approval."""
        if remedy in self.never:
            return None
        ranks = []
        step = next((t for t in self.thresholds if amount is not None and amount > t.above), None)
        if step is not None:
            ranks.append(self.levels.index(step.level))
        if remedy in self.at_least:
            ranks.append(self.levels.index(self.at_least[remedy]))
        return self.levels[max(ranks)] if ranks else None

    def next_level(self, level: str) -> str | None:
        position = self.levels.index(level) + 1
        return self.levels[position] if position < len(self.levels) else None


class ResolutionPolicy(_Config):
    customer_answer_days: float = Field(gt=0)
    archive_years: int = Field(gt=0)
    expect_payment_within_business_days: int = Field(gt=0)


class TriagePolicy(_Config):
    priority: PriorityPolicy
    duplicates: DuplicatePolicy
    spikes: SpikePolicy
    roster: dict[str, Team]
    approval: ApprovalPolicy
    resolution: ResolutionPolicy

    @model_validator(mode="after")
    def _approvers_for_every_level(self) -> TriagePolicy:
        for department, team in self.roster.items():
            missing = set(self.approval.levels) - set(team.approvers)
            if missing:
                raise ValueError(f"{department} has no approver for: {', '.join(sorted(missing))}")
        return self


def load_triage_policy(text: str | None = None) -> TriagePolicy:
    if text is None:
        text = resources.files("complaints").joinpath("config/triage.yaml").read_text(encoding="utf-8")
    return TriagePolicy.model_validate(yamltext.safe_load(text))
