"""What intake (and the acknowledgement) needs from storage: the case created once with its claims, its
workflow recorded, the acknowledgement counted and recorded, the reconciler's unstarted cases; the raw
emails as they arrived. (The conversation with the complainant is a port of core/ports.py: staff pages
read it too.)"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from complaints.core.models import Case, CaseEvent
from complaints.core.stats import Tally


class Claim(BaseModel):
    """Who first made a request: replayed to anyone who repeats it while the claim lasts."""

    key: str
    complaint_id: str
    access_code: str
    request_fingerprint: str
    expires_at: datetime


class CaseRepository(Protocol):
    def create(
        self, case: Case, event: CaseEvent, claim: Claim, now: datetime, stats: Tally | None = None
    ) -> Claim | None:
        """Store a new case, its first event, its claim and its report counters atomically.

        Returns None when stored, or the earlier live claim when the claim is taken (nothing stored).
        Raises ConflictError when the complaint id is already used."""

    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        """The case and its timeline (oldest first). Raises CaseNotFound."""

    def mark_started(self, complaint_id: str, execution_arn: str, event: CaseEvent) -> bool:
        """Record the workflow's execution; False if it was recorded already."""

    def mark_acknowledged(self, complaint_id: str, event: CaseEvent) -> bool:
        """Record the acknowledgement; False if it was recorded already."""

    def access_code_hash(self, complaint_id: str) -> str | None:
        """The stored hash of the case's access code (one read of the case item); None if no such case."""

    def count_acknowledgement(
        self, complaint_id: str, recipient: str, hour: str, limit: int, at: datetime
    ) -> bool:
        """Count the case's acknowledgement against its recipient's hour (`recipient` is a hash of the
        address), in one transaction with marking the case counted. False, and nothing counted, when the
        recipient had `limit` already; True when counted now or before (a retried step)."""

    def mark_ack_withheld(self, complaint_id: str, event: CaseEvent) -> bool:
        """Record that no acknowledgement is sent (and forget the clear access code); False if the
        acknowledgement was recorded or withheld already."""

    def mark_needs_attention(
        self, case: Case, reason: str, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Set NEEDS_ATTENTION with the reason (version-checked) and put the case on the ops watch list.
        Raises ConflictError."""

    def unstarted(self, created_before: datetime, limit: int) -> list[str]:
        """Ids of cases still waiting for their execution, oldest first."""

    def resume(self, case: Case, event: CaseEvent) -> Case:
        """NEEDS_ATTENTION back to the status it failed in (version-checked). Raises ConflictError."""

    def set_execution(self, complaint_id: str, execution_arn: str) -> None:
        """Point the case at a new execution."""


class MailStore(Protocol):
    def read(self, mail_id: str) -> bytes:
        """The raw email as it arrived. Raises MailNotFound."""

    def location(self, mail_id: str) -> str:
        """Where it is kept (an S3 URI), for the record."""
