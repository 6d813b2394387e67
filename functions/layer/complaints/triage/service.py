"""Triage: classify, prioritise, route, set the SLA clocks, link duplicates, and warn early on spikes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from complaints.classification.classifier import Classifier
from complaints.classification.matcher import PhraseMatcher
from complaints.classification.taxonomy import Taxonomy
from complaints.core import ids, stats
from complaints.core.calendar import Policy
from complaints.core.clock import Clock, utc_now
from complaints.core.errors import ConflictError, TransientError
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.ports import Mailer
from complaints.core.rules import Person, TriagePolicy
from complaints.core.settings import Settings
from complaints.presentation.email import compose
from complaints.presentation.i18n import messages
from complaints.presentation.render import local_time
from complaints.triage.contracts import TriageOutcome
from complaints.triage.ports import Assignment, TriageFields, TriageRepository
from complaints.triage.rules import (
    _earlier,
    find_duplicate,
    hour_bucket,
    score_priority,
    spike_check,
    trailing_buckets,
)


@dataclass
class SpikeOutcome:
    complaintId: str
    category: str
    count: int
    alerted: bool
    baseline: float = 0.0
    examples: list[str] = field(default_factory=list)


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
                return TriageOutcome(complaintId=complaint_id, outcome="RELATED", relatedTo=case.related_to)
            if case.status != Status.RECEIVED:
                return TriageOutcome(
                    complaintId=complaint_id,
                    outcome="TRIAGED",
                    category=case.category,
                    priority=case.priority,
                )
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
            return TriageOutcome(
                complaintId=case.complaint_id, outcome="RELATED", relatedTo=match.complaint_id
            )

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
        return TriageOutcome(
            complaintId=case.complaint_id,
            outcome="TRIAGED",
            category=classification.category,
            priority=priority.priority,
        )

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
