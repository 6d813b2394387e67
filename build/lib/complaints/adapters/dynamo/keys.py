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

import secrets
from datetime import datetime
from typing import Any

from complaints.core.models import CaseEvent

UNSTARTED = "UNSTARTED"


WATCH_APPROVAL = "WATCH#APPROVAL"


WATCH_ATTENTION = "WATCH#ATTENTION"


WATCH_ALERT = "WATCH#ALERT"


STATS_PK = "STATS"


# Attributes to REMOVE to take a case out of its work queue (GSI3) or off the ops watch list (GSI4).
QUEUE_KEYS = ("gsi3pk", "gsi3sk")


WATCH_KEYS = ("gsi4pk", "gsi4sk")


LINK_ATTRIBUTE = {
    "investigate": "investigation_link_id",
    "approve": "approval_link_id",
    "confirm": "confirm_link_id",
}


def _iso(value: datetime) -> str:
    return value.isoformat()


def _case_key(complaint_id: str) -> dict[str, str]:
    return {"pk": f"CASE#{complaint_id}", "sk": "CASE"}


def _event_item(complaint_id: str, event: CaseEvent) -> dict[str, Any]:
    return {
        "pk": f"CASE#{complaint_id}",
        "sk": f"EVENT#{_iso(event.at)}#{secrets.token_hex(4)}",
        "kind": "event",
        **event.model_dump(mode="json"),
    }
