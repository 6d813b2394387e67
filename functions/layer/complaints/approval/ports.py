"""What approval needs from storage: the case, its approver's link, and the decision, each one write."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from complaints.core.models import Case, CaseEvent
from complaints.core.stats import Tally
from complaints.core.tasks import TaskLink
from complaints.tasklinks.ports import KeptAnswers


class ApprovalRepository(KeptAnswers, Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def get_link(self, link_id: str) -> TaskLink | None: ...

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Store a new link as the case's open approval link; the one it replaces (if any) is marked
        SUPERSEDED with the new holder's name."""

    def mark_notified(self, link_id: str, at: datetime) -> None:
        """The link's email went out for its current wait."""

    def approve(self, case: Case, event: CaseEvent) -> None:
        """AWAITING_APPROVAL -> RESOLVING, off the ops watch list, with its event (version-checked)."""

    def reject(self, case: Case, comment: str, event: CaseEvent) -> None:
        """AWAITING_APPROVAL -> INVESTIGATING without findings, the comment for the investigator, off the
        ops watch list, with its event (version-checked)."""
