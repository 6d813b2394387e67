"""Data access for cases, behind an interface, with the DynamoDB implementation.

Single-table layout (every key and index is documented here and nowhere else):

| item            | pk                 | sk                       | gsi1pk / gsi1sk            |
|-----------------|--------------------|--------------------------|----------------------------|
| case            | CASE#<complaintId> | CASE                     | UNSTARTED / createdAt (*)  |
| timeline event  | CASE#<complaintId> | EVENT#<at>#<random>      |                            |
| intake claim    | CLAIM#<sha256>     | CLAIM                    |                            |
| roster load     | ROSTER#<department>| INV#<investigator id>    |                            |
| spike counter   | SPIKE#<category>   | HOUR#<yyyy-mm-ddThh>     |                            |
| spike alert     | SPIKE#<category>   | ALERT#<yyyy-mm-ddThh>    |                            |
| evidence item   | CASE#<complaintId> | EVIDENCE#<seq, 4 digits> |                            |
| task link       | LINK#<link id>     | LINK                     |                            |
| report counters | STATS              | DAY#<yyyy-mm-dd>#<shard> |                            |
| mail counter    | MAILTO#<sha256>    | HOUR#<yyyy-mm-ddThh UTC> |                            |
| archived case   | ARCHIVE#<id>       | ARCHIVE                  |                            |

(*) only while no execution has been started for the case: GSI1 is sparse, so the reconciler reads
just the cases it has to start. One Query on pk returns a case and its whole timeline.

GSI2 (customer history): gsi2pk = CUSTOMER#<sha256 of the address>, gsi2sk = createdAt, projecting
what duplicate and repeat checks need. GSI3 (work queues): gsi3pk = QUEUE#<department>,
gsi3sk = <priority>#<resolution due, in UTC>, set when a case is triaged. Every triage read is bounded
by one customer's recent cases, one department's roster or a fixed number of hour buckets, never by
the size of the table. A case leaves its queue when it closes.
GSI4 (ops watch list, sparse): gsi4pk = WATCH#APPROVAL (a case waiting for an approver, gsi4sk = when it
was first asked), WATCH#ATTENTION (a case NEEDS_ATTENTION, gsi4sk = since when) or WATCH#ALERT (a spike
alert, gsi4sk = when): ops read what waits for them, not the table.
Report counters (`stats.py`) are added in the same transaction as the change they count.
Claims (Idempotency-Key and duplicate-text) expire through `expiresAt` (checked on write) and the
table's TTL attribute `ttl` (removal).

AWS errors become domain errors here: failed conditions -> ConflictError, throttling and transactions
cancelled by a conflict or by throttling (and by nothing else) -> TransientError.
"""

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
