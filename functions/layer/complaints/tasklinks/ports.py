"""What the link pages and the steps that hand on a kept answer need from storage."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from complaints.core.evidence import EvidenceItem
from complaints.core.models import Case, CaseEvent
from complaints.core.tasks import TaskLink


class KeptAnswers(Protocol):
    def hand_on(self, link_id: str, event: CaseEvent) -> None:
        """A kept answer was given to the step's next task."""

    def keep_answer(self, link_id: str) -> None:
        """The answer reached no waiting task: it stays on the link for the step's next task."""


class LinkRepository(KeptAnswers, Protocol):
    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]: ...

    def evidence(self, complaint_id: str) -> list[EvidenceItem]: ...

    def get_link(self, link_id: str) -> TaskLink | None: ...

    def complete_link(self, link_id: str, at: datetime, answer: dict[str, Any]) -> bool:
        """OPEN -> DONE with the answer, exactly once; False if it was not OPEN."""
