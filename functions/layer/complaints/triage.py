"""Triage: classify, prioritise, route, set the SLA clocks, link duplicates, and warn early on spikes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from complaints import ids, stats
from complaints.classify import Classification, Classifier, PhraseMatcher, Taxonomy
from complaints.errors import ConflictError, TransientError
from complaints.i18n import messages
from complaints.intake import Clock, utc_now
from complaints.mail import Mailer, compose
from complaints.models import AmountIn, Case, CaseEvent, CaseSummary, PriorityPoints, Status
from complaints.policy import Policy
from complaints.settings import Settings
from complaints.stats import Tally
from complaints.web import local_time


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
    return TriagePolicy.model_validate(yaml.safe_load(text))


# ---------------------------------------------------------------- priority


@dataclass(frozen=True)
class PriorityResult:
    priority: str
    score: int
    breakdown: list[PriorityPoints]


def score_priority(
    policy: PriorityPolicy,
    category: str,
    amount: AmountIn | None,
    earlier_complaints: int,
    threats: list[str],
    tier: str | None,
) -> PriorityResult:
    """Score a complaint and band it into P1-P4; every contribution is kept for the timeline."""
    parts = [
        PriorityPoints(reason="category", detail=category, points=policy.category_points.get(category, 0))
    ]
    if amount is not None:
        step = next((s for s in policy.amount_steps if amount.value >= s.min), None)
        if step is not None:
            parts.append(PriorityPoints(reason="amount", detail=f">= {step.min}", points=step.points))
    repeat = policy.repeat_complainant
    if earlier_complaints >= repeat.min_earlier:
        parts.append(
            PriorityPoints(
                reason="repeat_complainant",
                detail=f"{earlier_complaints} in {repeat.days} days",
                points=repeat.points,
            )
        )
    if threats:
        parts.append(PriorityPoints(reason="threat", detail=", ".join(threats), points=policy.threats.points))
    if tier and tier.lower() in policy.vip.tiers:
        parts.append(PriorityPoints(reason="vip", detail=tier.lower(), points=policy.vip.points))
    score = sum(part.points for part in parts)
    if category in policy.always_p1:
        return PriorityResult("P1", score, parts)
    for band in ("P1", "P2", "P3"):
        if score >= policy.bands[band]:
            return PriorityResult(band, score, parts)
    return PriorityResult("P4", score, parts)


# ---------------------------------------------------------------- duplicates

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _trigrams(text: str) -> set[str]:
    compact = _NOT_WORD.sub("", text.casefold())
    if len(compact) < 3:
        return {compact} if compact else set()
    return {compact[i : i + 3] for i in range(len(compact) - 2)}


def text_similarity(first: str, second: str) -> float:
    """Jaccard similarity of character trigrams: works for Chinese without spaces and for English."""
    a, b = _trigrams(first), _trigrams(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class DuplicateMatch:
    complaint_id: str
    reason: str  # "reference" or "text"
    detail: str


OPEN_STATUSES = {s for s in Status if s not in (Status.CLOSED, Status.RELATED)}


def _earlier(candidate: CaseSummary, case: Case) -> bool:
    """Filed before `case` (ids break a tie in the same microsecond)."""
    return (candidate.created_at, candidate.complaint_id) < (case.created_at, case.complaint_id)


def find_duplicate(
    policy: DuplicatePolicy, case: Case, recent: list[CaseSummary], now: datetime
) -> DuplicateMatch | None:
    """The customer's earlier open case, within the window, that this complaint repeats: by reference,
    else by near-identical text (unless the two name different ids under the same reference name).

    Only cases filed before this one count, so of two repeats the earlier is investigated."""
    since = now - timedelta(days=policy.window_days)
    candidates = [
        c for c in recent if _earlier(c, case) and c.status in OPEN_STATUSES and c.created_at >= since
    ]
    candidates.sort(key=lambda c: c.created_at)
    mine = {(name, value.strip().casefold()) for name, value in case.references.items()}
    values = {value for _, value in mine}
    for candidate in candidates:
        for name, value in candidate.references.items():
            if value.strip().casefold() in values:
                return DuplicateMatch(candidate.complaint_id, "reference", name)
    for candidate in candidates:
        if any(
            name in case.references and case.references[name].strip().casefold() != value.strip().casefold()
            for name, value in candidate.references.items()
        ):
            continue  # the same kind of reference with another id: another matter, however alike the text
        similarity = text_similarity(case.description, candidate.description)
        if similarity >= policy.text_similarity:
            return DuplicateMatch(candidate.complaint_id, "text", f"{similarity:.2f}")
    return None


# ---------------------------------------------------------------- spikes


@dataclass(frozen=True)
class SpikeCheck:
    category: str
    hour: str
    count: int
    baseline: float
    limit: float

    @property
    def is_spike(self) -> bool:
        return self.count >= self.limit


def spike_check(policy: SpikePolicy, category: str, hour: str, count: int, trailing: list[int]) -> SpikeCheck:
    """This hour's count against max(threshold, factor x the trailing hourly average)."""
    baseline = sum(trailing) / policy.trailing_hours
    return SpikeCheck(category, hour, count, baseline, max(policy.threshold, policy.factor * baseline))


def hour_bucket(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


def trailing_buckets(at: datetime, hours: int) -> list[str]:
    return [hour_bucket(at - timedelta(hours=back)) for back in range(1, hours + 1)]


# ---------------------------------------------------------------- the stage


@dataclass
class Assignment:
    department: str
    investigator: Person
    expected_open: int | None  # None: no counter yet


@dataclass
class TriageFields:
    classification: Classification
    priority: PriorityResult
    department: str
    investigator: Person
    first_response_due: datetime
    resolution_due: datetime
    response_due: datetime


@dataclass
class TriageOutcome:
    complaintId: str
    outcome: str  # TRIAGED or RELATED
    category: str | None = None
    priority: str | None = None
    relatedTo: str | None = None


@dataclass
class SpikeOutcome:
    complaintId: str
    category: str
    count: int
    alerted: bool
    baseline: float = 0.0
    examples: list[str] = field(default_factory=list)


class TriageRepository(Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def recent_for_customer(self, customer_key: str, since: datetime, limit: int) -> list[CaseSummary]: ...

    def investigator_loads(self, department: str) -> dict[str, tuple[int, str]]:
        """{investigator id: (open cases, last assigned at ISO or "")} of one department."""

    def mark_triaged(
        self,
        case: Case,
        fields: TriageFields,
        assignment: Assignment,
        event: CaseEvent,
        stats: Tally | None = None,
    ) -> None:
        """Store the triage and count the assignment, atomically. ConflictError if either changed."""

    def mark_related(
        self, case: Case, match: DuplicateMatch, event: CaseEvent, stats: Tally | None = None
    ) -> None: ...

    def mark_related_notified(self, complaint_id: str, at: datetime) -> bool: ...

    def count_for_spikes(self, case: Case, hour: str, at: datetime) -> int | None:
        """Add the case to its category's hour once; the count after adding (None if counted before)."""

    def hour_counts(self, category: str, hours: list[str]) -> dict[str, int]: ...

    def add_spike_example(self, category: str, hour: str, complaint_id: str, limit: int) -> None: ...

    def spike_examples(self, category: str, hour: str) -> list[str]: ...

    def claim_spike_alert(self, category: str, hour: str, complaint_id: str, at: datetime) -> bool:
        """True for one complaint per category and hour (again for that complaint until the alert is
        marked sent, so a retried task re-sends an alert whose send failed)."""

    def mark_spike_alert_sent(self, category: str, hour: str, at: datetime) -> None: ...


class TriageService:
    def __init__(
        self,
        repository: TriageRepository,
        classifier: Classifier,
        taxonomy: Taxonomy,
        policy: Policy,
        triage_policy: TriagePolicy,
        mailer: Mailer,
        settings: Settings,
        clock: Clock = utc_now,
    ):
        self._repository = repository
        self._classifier = classifier
        self._taxonomy = taxonomy
        self._policy = policy
        self._triage = triage_policy
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        unstaffed = sorted(set(taxonomy.departments) - set(triage_policy.roster))
        if unstaffed:
            raise ValueError(f"the roster has no team for: {', '.join(unstaffed)}")
        phrases = [p for group in triage_policy.priority.threats.phrases.values() for p in group]
        self._threats = PhraseMatcher(phrases)

    # -------------------------------------------------------- triage
    def triage(self, complaint_id: str) -> TriageOutcome:
        """Classify, link a duplicate or prioritise and route the case. Safe to retry."""
        for _attempt in range(5):
            case, _ = self._repository.get(complaint_id)
            if case.status == Status.RELATED:
                self._notify_related(case)
                return TriageOutcome(complaint_id, "RELATED", relatedTo=case.related_to)
            if case.status != Status.RECEIVED:
                return TriageOutcome(complaint_id, "TRIAGED", case.category, case.priority)
            try:
                return self._triage_once(case)
            except ConflictError:
                continue  # the case or a roster counter moved: read again and redo
        # Contention (other triages taking the same investigators), not a fault: the state machine
        # retries a TransientError later, with backoff.
        raise TransientError(f"triage of {complaint_id} kept conflicting")

    def _triage_once(self, case: Case) -> TriageOutcome:
        now = self._clock()
        key = ids.customer_key(case.customer.email)
        window = max(self._triage.duplicates.window_days, self._triage.priority.repeat_complainant.days)
        recent = self._repository.recent_for_customer(
            key, now - timedelta(days=window), self._triage.duplicates.max_candidates
        )
        match = find_duplicate(self._triage.duplicates, case, recent, now)
        text = "\n".join(part for part in (case.subject, case.description, case.desired_resolution) if part)
        classification = self._classifier.classify(text, case.category_hint)
        zone = self._policy.calendar.timezone
        if match is not None:
            event = CaseEvent(
                at=now,
                type="LINKED",
                params={"related_to": match.complaint_id, "reason": match.reason, "detail": match.detail},
            )
            counted = stats.triaged(classification.category, None)
            self._repository.mark_related(
                case, match, event, stats.tally(case.created_at, zone, case.complaint_id, counted)
            )
            case, _ = self._repository.get(case.complaint_id)
            self._notify_related(case)
            return TriageOutcome(case.complaint_id, "RELATED", relatedTo=match.complaint_id)

        since = now - timedelta(days=self._triage.priority.repeat_complainant.days)
        earlier = sum(1 for c in recent if _earlier(c, case) and c.created_at >= since)
        priority = score_priority(
            self._triage.priority,
            classification.category,
            case.amount,
            earlier,
            self._threats.find(text),
            case.customer.tier,
        )
        department = self._taxonomy.route(classification)
        assignment = self._choose_investigator(department)
        sla = self._policy.sla_due(case.created_at, priority.priority)
        fields = TriageFields(
            classification=classification,
            priority=priority,
            department=department,
            investigator=assignment.investigator,
            first_response_due=sla.first_response_due,
            resolution_due=sla.resolution_due,
            # The deadline the complainant was told can come forward (a payments complaint found late),
            # never move back.
            response_due=min(
                case.response_due_at, self._policy.response_due(case.created_at, classification.category)
            ),
        )
        counted = stats.triaged(classification.category, priority.priority)
        self._repository.mark_triaged(
            case,
            fields,
            assignment,
            self._triaged_event(now, fields),
            stats.tally(case.created_at, zone, case.complaint_id, counted),
        )
        return TriageOutcome(case.complaint_id, "TRIAGED", classification.category, priority.priority)

    def _choose_investigator(self, department: str) -> Assignment:
        """Fewest open cases first; among equals, the one assigned longest ago (so ties go in turn)."""
        team = self._triage.roster[department]
        loads = self._repository.investigator_loads(department)

        def rank(pair: tuple[int, Person]) -> tuple[int, str, int]:
            position, person = pair
            open_cases, last = loads.get(person.id, (0, ""))
            return open_cases, last, position

        _, chosen = min(enumerate(team.investigators), key=rank)
        current = loads.get(chosen.id)
        return Assignment(department, chosen, current[0] if current else None)

    def _triaged_event(self, at: datetime, fields: TriageFields) -> CaseEvent:
        zone = self._policy.calendar.timezone
        c, p = fields.classification, fields.priority
        return CaseEvent(
            at=at,
            type="TRIAGED",
            params={
                "category": c.category,
                "confidence": f"{c.confidence:.2f}",
                "evidence": ", ".join(c.evidence) or "-",
                "priority": p.priority,
                "score": str(p.score),
                "breakdown": "; ".join(
                    f"{b.reason} {b.detail} +{b.points}".replace("  ", " ") for b in p.breakdown
                ),
                "department": fields.department,
                "assignee": fields.investigator.name,
                "first_response_due": local_time(fields.first_response_due, zone),
                "resolution_due": local_time(fields.resolution_due, zone),
                "response_due": local_time(fields.response_due, zone, "%Y-%m-%d"),
            },
        )

    def _notify_related(self, case: Case) -> None:
        """Tell the complainant, in their language, that this complaint joins their earlier case. Once.

        Not when the case's acknowledgement was withheld (its address had its hour's acknowledgements):
        otherwise near-identical repeats would mail the address without bound."""
        if case.related_notified_at is not None or case.related_to is None or case.ack_suppressed_at:
            return
        text = messages(case.locale)
        self._mailer.send(
            compose(
                "related_email",
                to=[case.customer.email],
                subject=text["related"]["subject"].format(complaint_id=case.complaint_id),
                t=text,
                lang=case.locale,
                complaint_id=case.complaint_id,
                related_to=case.related_to,
            )
        )
        self._repository.mark_related_notified(case.complaint_id, self._clock())

    # -------------------------------------------------------- spikes
    def watch_spikes(self, complaint_id: str) -> SpikeOutcome:
        """Count the case in its category's hour; alert ops once per category and hour on a spike."""
        case, _ = self._repository.get(complaint_id)
        category = case.category or "other"
        now = self._clock()
        hour = hour_bucket(case.created_at)
        rules = self._triage.spikes
        count = self._repository.count_for_spikes(case, hour, now)
        if count is None:  # a retried task: counted before
            count = self._repository.hour_counts(category, [hour]).get(hour, 0)
        elif count <= rules.example_ids:
            self._repository.add_spike_example(category, hour, complaint_id, rules.example_ids)
        trailing_hours = trailing_buckets(case.created_at, rules.trailing_hours)
        trailing = self._repository.hour_counts(category, trailing_hours)
        check = spike_check(rules, category, hour, count, [trailing.get(h, 0) for h in trailing_hours])
        if not check.is_spike or not self._repository.claim_spike_alert(category, hour, complaint_id, now):
            return SpikeOutcome(complaint_id, category, count, alerted=False, baseline=check.baseline)
        examples = self._repository.spike_examples(category, hour) or [complaint_id]
        self._mailer.send(
            compose(
                "spike_alert",
                to=[self._settings.ops_email],
                subject=f"[complaints] Spike: {count} '{category}' complaints in the hour {hour}:00 UTC",
                category=category,
                hour=hour,
                count=count,
                baseline=f"{check.baseline:.2f}",
                limit=f"{check.limit:.2f}",
                trailing_hours=rules.trailing_hours,
                examples=examples,
            )
        )
        self._repository.mark_spike_alert_sent(category, hour, self._clock())
        return SpikeOutcome(complaint_id, category, count, True, check.baseline, examples)
