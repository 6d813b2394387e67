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

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.adapters.dynamo.keys import STATS_PK
from complaints.core.errors import ComplaintsError, ConflictError, TransientError
from complaints.core.stats import Tally

if TYPE_CHECKING:
    pass


_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    # A single-item write that met a transaction on its item, and a repeated transaction token in flight.
    "TransactionConflictException",
    "TransactionInProgressException",
}


# Why a transaction was cancelled, per item (CancellationReasons): these pass; a retry goes through.
_TRANSIENT_REASONS = {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"}


@contextmanager
def aws_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise ConflictError("the item changed or exists already") from error
        if code in _TRANSIENT:
            raise TransientError(f"DynamoDB {code}") from error
        reasons = _cancellation_codes(error)
        if "ConditionalCheckFailed" not in reasons and _TRANSIENT_REASONS.intersection(reasons):
            # Cancelled only because another writer (acknowledgements to one address at one moment, say)
            # or the capacity was in the way: the step is retried (TransientError by name in the state
            # machine), not failed into NEEDS_ATTENTION. A condition among the reasons is the caller's.
            raise TransientError(f"DynamoDB {code} ({', '.join(sorted(set(reasons) - {'None'}))})") from error
        raise ComplaintsError(f"DynamoDB {code}") from error
    except BotoCoreError as error:
        raise TransientError(type(error).__name__) from error


def dynamo_value(value: Any) -> Any:
    """Python values as the boto3 resource stores them: floats become Decimals (it refuses floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: dynamo_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [dynamo_value(item) for item in value]
    return value


def _set_clause(values: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """`SET #a = :a, ...` for every attribute, with names and values escaped."""
    names = {f"#{i}": name for i, name in enumerate(values)}
    placeholders = {f":{i}": dynamo_value(value) for i, value in enumerate(values.values())}
    return "SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))), names, placeholders


def stats_update(table_name: str, stats: Tally) -> dict[str, Any]:
    """A transaction item adding `stats` to its day's counters."""
    names = {f"#c{i}": name for i, name in enumerate(stats.counters)}
    values: dict[str, Any] = {f":c{i}": value for i, value in enumerate(stats.counters.values())}
    values |= {":kind": "stats", ":day": stats.day}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": STATS_PK, "sk": f"DAY#{stats.day}#{stats.shard}"},
            "UpdateExpression": f"ADD {adds} SET kind = :kind, #day = :day",
            "ExpressionAttributeNames": {**names, "#day": "day"},
            "ExpressionAttributeValues": values,
        }
    }


def _cancellation_codes(error: BaseException | None) -> list[str]:
    if not isinstance(error, ClientError):
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]
