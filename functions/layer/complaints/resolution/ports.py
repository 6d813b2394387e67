"""What resolution needs from storage: the customer's link, and each of its state changes as one write."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from complaints.core.models import Case, CaseEvent
from complaints.core.stats import Tally
from complaints.core.tasks import CustomerAnswer, TaskLink


class ResolutionRepository(Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def get_link(self, link_id: str) -> TaskLink | None: ...

    def mark_notified(self, link_id: str, at: datetime) -> None: ...

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None: ...

    def record_remedy(self, case: Case, reference: str, event: CaseEvent) -> None:
        """The remedy applied (its ledger reference, the case's n-th), with its event (version-checked)."""

    def await_confirmation(self, case: Case, at: datetime) -> None:
        """AWAITING_CONFIRMATION since `at`: the customer has the resolution (version-checked)."""

    def record_customer_answer(self, case: Case, answer: CustomerAnswer | None, event: CaseEvent) -> None:
        """The customer's rating and answer (None: no answer in time), with its event (version-checked)."""

    def reopen(self, case: Case, answer: CustomerAnswer, event: CaseEvent) -> None:
        """The customer's "no": their answer, and the case back to INVESTIGATING without its findings and
        remedy, reopened (version-checked)."""

    def record_final_response(self, case: Case, event: CaseEvent) -> None:
        """The final response letter sent, at the event's time (version-checked)."""

    def close_case(self, case: Case, event: CaseEvent, stats: Tally | None, archive_until: datetime) -> None:
        """CLOSED, its event and counters, the archive record and the investigator's release, atomically
        (ConflictError if the case or the counter changed since it was read)."""
