"""The single-table layout: every key and index is built here and nowhere else.

| item            | pk                 | sk                       | gsi1pk / gsi1sk            |
|-----------------|--------------------|--------------------------|----------------------------|
| case            | CASE#<complaintId> | CASE                     | UNSTARTED / createdAt (*)  |
| timeline event  | CASE#<complaintId> | EVENT#<at>#<random>      |                            |
| intake claim    | CLAIM#<sha256>     | CLAIM                    |                            |
| roster load     | ROSTER#<department>| INV#<investigator id>    |                            |
| spike counter   | SPIKE#<category>   | HOUR#<yyyy-mm-ddThh>     |                            |
| spike alert     | SPIKE#<category>   | ALERT#<yyyy-mm-ddThh>    |                            |
| evidence item   | CASE#<complaintId> | EVIDENCE#<seq, 4 digits> |                            |
| message         | CASE#<complaintId> | MESSAGE#<message key>    |                            |
| held email      | HELD               | <arrived at>#<msg key>   |                            |
| sent email      | SENT#<SES msg id>  | SENT                     |                            |
| task link       | LINK#<link id>     | LINK                     |                            |
| report counters | STATS              | DAY#<yyyy-mm-dd>#<shard> |                            |
| mail counter    | MAILTO#<sha256>    | HOUR#<yyyy-mm-ddThh UTC> |                            |
| archived case   | ARCHIVE#<id>       | ARCHIVE                  |                            |
| platform record | RECORD#<reference> | RECORD                   |                            |

(*) only while no execution has been started for the case: GSI1 is sparse, so the reconciler reads
just the cases it has to start. One Query on pk returns a case and its whole timeline.

GSI2 (customer history): gsi2pk = CUSTOMER#<sha256 of the address>, gsi2sk = createdAt, projecting
what duplicate and repeat checks need. GSI3 (work queues): gsi3pk = QUEUE#<department>,
gsi3sk = <priority>#<resolution due, in UTC>, set when a case is triaged. Every triage read is bounded
by one customer's recent cases, one department's roster or a fixed number of hour buckets, never by
the size of the table. A case leaves its queue when it closes.
GSI4 (ops watch list, sparse): gsi4pk = WATCH#APPROVAL (a case waiting for an approver, gsi4sk = when it
was first asked), WATCH#ATTENTION (a case NEEDS_ATTENTION, gsi4sk = since when), WATCH#ALERT (a spike
alert, gsi4sk = when): ops read what waits for them, not the table. Emails held for ops share one
partition, sorted by when they arrived (few: mail that is not a complaint nor a reply of its customer).
A sent email maps the id SES gave it (the local part of the Message-ID it delivered) to its case, for a
reply that threads by In-Reply-To or References alone.
Report counters (core/stats.py) are added in the same transaction as the change they count.
Claims (Idempotency-Key and duplicate-text) expire through `expiresAt` (checked on write) and the
table's TTL attribute `ttl` (removal).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from complaints.core.models import CaseEvent

UNSTARTED = "UNSTARTED"
WATCH_APPROVAL = "WATCH#APPROVAL"
WATCH_ATTENTION = "WATCH#ATTENTION"
WATCH_ALERT = "WATCH#ALERT"
HELD_PK = "HELD"
MESSAGE_PREFIX = "MESSAGE#"
STATS_PK = "STATS"
CASE_SK = "CASE"
EVENT_PREFIX = "EVENT#"
EVIDENCE_PREFIX = "EVIDENCE#"
# Attributes to REMOVE to take a case out of its work queue (GSI3) or off the ops watch list (GSI4).
QUEUE_KEYS = ("gsi3pk", "gsi3sk")
WATCH_KEYS = ("gsi4pk", "gsi4sk")


def _iso(value: datetime) -> str:
    return value.isoformat()


def case_partition(complaint_id: str) -> str:
    return f"CASE#{complaint_id}"


def complaint_id_of(partition: str) -> str:
    return partition.removeprefix("CASE#")


def _case_key(complaint_id: str) -> dict[str, str]:
    return {"pk": case_partition(complaint_id), "sk": CASE_SK}


def _event_item(complaint_id: str, event: CaseEvent) -> dict[str, Any]:
    return {
        "pk": case_partition(complaint_id),
        "sk": f"{EVENT_PREFIX}{_iso(event.at)}#{secrets.token_hex(4)}",
        "kind": "event",
        **event.model_dump(mode="json"),
    }


def evidence_key(complaint_id: str, seq: int) -> dict[str, str]:
    return {"pk": case_partition(complaint_id), "sk": f"{EVIDENCE_PREFIX}{seq:04d}"}


def message_key(complaint_id: str, key: str) -> dict[str, str]:
    return {"pk": case_partition(complaint_id), "sk": f"{MESSAGE_PREFIX}{key}"}


def held_mail_key(at: datetime, key: str) -> dict[str, str]:
    return {"pk": HELD_PK, "sk": f"{_iso(at)}#{key}"}


def sent_mail_key(mail_id: str) -> dict[str, str]:
    return {"pk": f"SENT#{mail_id}", "sk": "SENT"}


def claim_key(key: str) -> dict[str, str]:
    return {"pk": f"CLAIM#{key}", "sk": "CLAIM"}


def customer_partition(customer_key: str) -> str:
    return f"CUSTOMER#{customer_key}"


def queue_partition(department: str) -> str:
    return f"QUEUE#{department}"


def roster_partition(department: str) -> str:
    return f"ROSTER#{department}"


def roster_key(department: str, investigator_id: str) -> dict[str, str]:
    return {"pk": roster_partition(department), "sk": f"INV#{investigator_id}"}


def investigator_of(sort_key: str) -> str:
    return sort_key.removeprefix("INV#")


def spike_hour_key(category: str, hour: str) -> dict[str, str]:
    return {"pk": f"SPIKE#{category}", "sk": f"HOUR#{hour}"}


def spike_alert_key(category: str, hour: str) -> dict[str, str]:
    return {"pk": f"SPIKE#{category}", "sk": f"ALERT#{hour}"}


def hour_of(sort_key: str) -> str:
    return sort_key.removeprefix("HOUR#")


def mail_counter_key(recipient: str, hour: str) -> dict[str, str]:
    return {"pk": f"MAILTO#{recipient}", "sk": f"HOUR#{hour}"}


def link_key(link_id: str) -> dict[str, str]:
    return {"pk": f"LINK#{link_id}", "sk": "LINK"}


def archive_key(complaint_id: str) -> dict[str, str]:
    return {"pk": f"ARCHIVE#{complaint_id}", "sk": "ARCHIVE"}


def record_key(reference: str) -> dict[str, str]:
    return {"pk": f"RECORD#{reference}", "sk": "RECORD"}


def stats_key(day: str, shard: int) -> dict[str, str]:
    return {"pk": STATS_PK, "sk": f"DAY#{day}#{shard}"}


def stats_range(start: date, end: date) -> tuple[str, str]:
    """The sort keys between which the counters of the days from `start` to `end` (inclusive) lie."""
    return f"DAY#{start.isoformat()}", f"DAY#{end.isoformat()}#~"


def ledger_key(complaint_id: str, remedy_id: str) -> dict[str, str]:
    """The ledger table's (the payment system's) key of one remedy payment."""
    return {"pk": f"LEDGER#{complaint_id}", "sk": f"REMEDY#{remedy_id}"}
