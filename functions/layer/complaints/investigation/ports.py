"""What the investigation needs: evidence sources, the record store they read, and storage for the case,
its evidence and its links."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from complaints.core.conversation import Message
from complaints.core.evidence import EvidenceItem
from complaints.core.models import Case, CaseEvent, CaseSummary, Status
from complaints.core.stats import Tally
from complaints.core.tasks import Findings, TaskLink


class EvidenceSource(Protocol):
    name: str

    def fetch(self, case: Case) -> list[tuple[str, dict[str, Any]]]:
        """(reference, data) pairs this source holds about the case."""


class RecordStore(Protocol):
    def record(self, reference: str) -> dict[str, Any] | None: ...

    def recent_for_customer(self, customer_key: str, since: datetime, limit: int) -> list[CaseSummary]: ...


class InvestigationRepository(Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def evidence(self, complaint_id: str) -> list[EvidenceItem]: ...

    def start_investigation(self, case: Case, items: list[EvidenceItem], event: CaseEvent) -> bool:
        """Store the evidence chain and set INVESTIGATING, once (False if done before)."""

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Store a new link as the case's open investigation link; the one it replaces (if any) is
        marked SUPERSEDED with the new holder's name."""

    def rebind_link(self, link_id: str, token: str, expires_at: datetime, event: CaseEvent) -> None: ...

    def mark_notified(self, link_id: str, at: datetime) -> None:
        """The link's email went out for its current wait."""

    def get_link(self, link_id: str) -> TaskLink | None: ...

    def complete_link(self, link_id: str, at: datetime, answer: dict[str, Any]) -> bool:
        """OPEN -> DONE with the answer, exactly once; False if it was not OPEN."""

    def keep_answer(self, link_id: str) -> None:
        """The answer reached no waiting task: it stays on the link for the step's next task."""

    def hand_on(self, link_id: str, event: CaseEvent) -> None:
        """A kept answer was given to the step's next task."""

    def record_findings(self, case: Case, findings: Findings, status: Status, event: CaseEvent) -> None: ...

    def ask_customer(self, case: Case, values: dict[str, Any], event: CaseEvent, message: Message) -> None:
        """The question as our message and the case's change (changes.asked_customer), one version-checked
        write with its event."""

    def wait_for_answer(self, case: Case, values: dict[str, Any], event: CaseEvent | None) -> None:
        """Which task waits for the answer, the emails sent about it (version-checked)."""

    def resume_investigation(
        self, case: Case, values: dict[str, Any], event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Back to INVESTIGATING (changes.resumed), with its event and report counters, atomically."""
