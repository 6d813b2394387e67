"""What supervision needs from storage: the case, and its NEEDS_ATTENTION and resume, each one write."""

from __future__ import annotations

from typing import Protocol

from complaints.core.models import Case, CaseEvent
from complaints.core.stats import Tally


class SupervisionRepository(Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        """The case and its timeline (oldest first). Raises CaseNotFound."""

    def mark_needs_attention(
        self, case: Case, reason: str, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Set NEEDS_ATTENTION with the reason (version-checked) and put the case on the ops watch list.
        Raises ConflictError."""

    def resume(self, case: Case, event: CaseEvent) -> Case:
        """NEEDS_ATTENTION back to the status it failed in (version-checked). Raises ConflictError."""

    def set_execution(self, complaint_id: str, execution_arn: str) -> None:
        """Point the case at a new execution."""
