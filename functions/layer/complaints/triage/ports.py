"""What triage needs from storage, and what it hands over: the assignment and the triaged fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from complaints.core.models import Case, CaseEvent, CaseSummary
from complaints.core.rules import Person
from complaints.core.stats import Tally
from complaints.triage.rules import DuplicateMatch, PriorityResult

if TYPE_CHECKING:  # the taxonomy's module loads only where something classifies
    from complaints.classification.taxonomy import Classification


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
