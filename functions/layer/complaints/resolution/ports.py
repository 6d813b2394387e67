"""After approval: the remedy through the ledger adapter, the customer's answer, and closure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from complaints.core.models import Case, CaseEvent
from complaints.core.stats import Tally
from complaints.core.tasks import TaskLink


class ResolutionRepository(Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def get_link(self, link_id: str) -> TaskLink | None: ...

    def mark_notified(self, link_id: str, at: datetime) -> None: ...

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None: ...

    def record_decision(
        self,
        case: Case,
        values: dict[str, Any],
        event: CaseEvent | None,
        stats: Tally | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        """Set case attributes (version-checked), with a timeline event if one is given."""

    def close_case(self, case: Case, event: CaseEvent, stats: Tally | None, archive_until: datetime) -> None:
        """CLOSED, its event and counters, the archive record and the investigator's release, atomically
        (ConflictError if the case or the counter changed since it was read)."""
