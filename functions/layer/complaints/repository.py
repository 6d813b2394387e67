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

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from complaints import ids
from complaints.errors import CaseNotFound, ComplaintsError, ConflictError, TransientError
from complaints.models import Case, CaseEvent, CaseSummary, Status
from complaints.stats import Tally

if TYPE_CHECKING:
    from complaints.evidence import EvidenceItem
    from complaints.tasks import Findings, TaskLink
    from complaints.triage import Assignment, DuplicateMatch, TriageFields

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


def _iso(value: datetime) -> str:
    return value.isoformat()


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


def _case_key(complaint_id: str) -> dict[str, str]:
    return {"pk": f"CASE#{complaint_id}", "sk": "CASE"}


def _event_item(complaint_id: str, event: CaseEvent) -> dict[str, Any]:
    return {
        "pk": f"CASE#{complaint_id}",
        "sk": f"EVENT#{_iso(event.at)}#{secrets.token_hex(4)}",
        "kind": "event",
        **event.model_dump(mode="json"),
    }


class DynamoCaseRepository:
    """CaseRepository on one DynamoDB table (a boto3 Table resource)."""

    def __init__(self, table: Any):
        self._table = table
        self._client = table.meta.client

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict:
        put: dict[str, Any] = {"TableName": self._table.name, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def create(
        self, case: Case, event: CaseEvent, claim: Claim, now: datetime, stats: Tally | None = None
    ) -> Claim | None:
        item = {
            **_case_key(case.complaint_id),
            "kind": "case",
            "gsi1pk": UNSTARTED,
            "gsi1sk": _iso(case.created_at),
            "gsi2pk": f"CUSTOMER#{ids.customer_key(case.customer.email)}",
            "gsi2sk": _iso(case.created_at),
            **dynamo_value(case.model_dump(mode="json", exclude_none=True)),
        }
        claim_item = {
            "pk": f"CLAIM#{claim.key}",
            "sk": "CLAIM",
            "kind": "claim",
            "complaintId": claim.complaint_id,
            "accessCode": claim.access_code,
            "requestFingerprint": claim.request_fingerprint,
            "expiresAt": _iso(claim.expires_at),
            "ttl": int(claim.expires_at.timestamp()),
        }
        try:
            with aws_errors():
                self._client.transact_write_items(
                    TransactItems=[
                        self._put(item, "attribute_not_exists(pk)"),
                        self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
                        self._put(
                            claim_item,
                            "attribute_not_exists(pk) OR expiresAt < :now",
                            {":now": _iso(now)},
                        ),
                        *([stats_update(self._table.name, stats)] if stats else []),
                    ]
                )
        except ComplaintsError as error:
            reasons = _cancellation_codes(error.__cause__)
            if len(reasons) >= 3 and reasons[2] == "ConditionalCheckFailed":  # the claim (item 3)
                earlier = self._get_claim(claim.key)
                if earlier is not None:
                    return earlier
                raise TransientError("claim vanished while being read; retry") from error
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConflictError("complaint id in use") from error
            raise
        return None

    def _get_claim(self, key: str) -> Claim | None:
        with aws_errors():
            found = self._table.get_item(Key={"pk": f"CLAIM#{key}", "sk": "CLAIM"}, ConsistentRead=True)
        item = found.get("Item")
        if not item:
            return None
        return Claim(
            key=key,
            complaint_id=item["complaintId"],
            access_code=item["accessCode"],
            request_fingerprint=item["requestFingerprint"],
            expires_at=item["expiresAt"],
        )

    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": f"CASE#{complaint_id}"},
            "ConsistentRead": True,
        }
        with aws_errors():
            while True:
                page = self._table.query(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        cases = [item for item in items if item["sk"] == "CASE"]
        if not cases:
            raise CaseNotFound(complaint_id)
        events = [CaseEvent.model_validate(item) for item in items if item["sk"].startswith("EVENT#")]
        return Case.model_validate(cases[0]), events

    def _update_with_event(
        self, complaint_id: str, update: dict[str, Any], event: CaseEvent, stats: Tally | None = None
    ) -> bool:
        """Apply one conditional update and append its timeline event (and add its report counters),
        atomically. False when the condition fails (the change was made before)."""
        items = [
            {"Update": {"TableName": self._table.name, "Key": _case_key(complaint_id), **update}},
            self._put(_event_item(complaint_id, event), "attribute_not_exists(pk)"),
        ]
        if stats is not None:
            items.append(stats_update(self._table.name, stats))
        try:
            with aws_errors():
                self._client.transact_write_items(TransactItems=items)
        except ComplaintsError as error:
            if _cancellation_codes(error.__cause__)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def mark_started(self, complaint_id: str, execution_arn: str, event: CaseEvent) -> bool:
        return self._update_with_event(
            complaint_id,
            {
                "UpdateExpression": "SET execution_arn = :arn, updated_at = :at, version = version + :one "
                "REMOVE gsi1pk, gsi1sk",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(execution_arn)",
                "ExpressionAttributeValues": {":arn": execution_arn, ":at": _iso(event.at), ":one": 1},
            },
            event,
        )

    def mark_acknowledged(self, complaint_id: str, event: CaseEvent) -> bool:
        return self._update_with_event(
            complaint_id,
            {
                "UpdateExpression": "SET acknowledged_at = :at, updated_at = :at, version = version + :one "
                "REMOVE pending_access_code",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(acknowledged_at)",
                "ExpressionAttributeValues": {":at": _iso(event.at), ":one": 1},
            },
            event,
        )

    def access_code_hash(self, complaint_id: str) -> str | None:
        with aws_errors():
            found = self._table.get_item(
                Key=_case_key(complaint_id),
                ProjectionExpression="access_code_hash",
                ConsistentRead=True,
            )
        return (found.get("Item") or {}).get("access_code_hash")

    def count_acknowledgement(
        self, complaint_id: str, recipient: str, hour: str, limit: int, at: datetime
    ) -> bool:
        try:
            with aws_errors():
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self._table.name,
                                "Key": _case_key(complaint_id),
                                "UpdateExpression": "SET ack_counted_at = :at",
                                "ConditionExpression": "attribute_exists(pk) "
                                "AND attribute_not_exists(ack_counted_at)",
                                "ExpressionAttributeValues": {":at": _iso(at)},
                            }
                        },
                        {
                            "Update": {
                                "TableName": self._table.name,
                                "Key": {"pk": f"MAILTO#{recipient}", "sk": f"HOUR#{hour}"},
                                "UpdateExpression": "ADD sent :one SET kind = :kind, #ttl = :ttl",
                                "ConditionExpression": "attribute_not_exists(sent) OR sent < :limit",
                                "ExpressionAttributeNames": {"#ttl": "ttl"},
                                "ExpressionAttributeValues": {
                                    ":one": 1,
                                    ":limit": limit,
                                    ":kind": "mail_counter",
                                    ":ttl": int((at + timedelta(days=2)).timestamp()),
                                },
                            }
                        },
                    ]
                )
        except ComplaintsError as error:
            reasons = _cancellation_codes(error.__cause__)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return True  # counted by an earlier attempt of this step
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def mark_ack_withheld(self, complaint_id: str, event: CaseEvent) -> bool:
        return self._update_with_event(
            complaint_id,
            {
                "UpdateExpression": "SET ack_suppressed_at = :at, updated_at = :at, version = version + :one "
                "REMOVE pending_access_code",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(acknowledged_at) "
                "AND attribute_not_exists(ack_suppressed_at)",
                "ExpressionAttributeValues": {":at": _iso(event.at), ":one": 1},
            },
            event,
        )

    def mark_needs_attention(
        self, case: Case, reason: str, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        came_from = case.attention_from if case.status == Status.NEEDS_ATTENTION else case.status
        done = self._update_with_event(
            case.complaint_id,
            {
                "UpdateExpression": "SET #status = :status, attention_reason = :reason, updated_at = :at, "
                "attention_from = :from, gsi4pk = :watch, gsi4sk = :at, version = version + :one",
                "ConditionExpression": "version = :version",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":status": Status.NEEDS_ATTENTION.value,
                    ":reason": reason,
                    ":from": (came_from or Status.RECEIVED).value,
                    ":watch": WATCH_ATTENTION,
                    ":at": _iso(event.at),
                    ":one": 1,
                    ":version": case.version,
                },
            },
            event,
            stats,
        )
        if not done:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")

    def resume(self, case: Case, event: CaseEvent) -> Case:
        """Take a NEEDS_ATTENTION case off the watch list, back to the status it failed in
        (version-checked: two ops retrying at once resume it once). Raises ConflictError."""
        resumed = case.attention_from or Status.RECEIVED
        done = self._update_with_event(
            case.complaint_id,
            {
                "UpdateExpression": "SET #status = :from, updated_at = :at, retries = :retries, "
                "version = version + :one REMOVE attention_reason, attention_from, gsi4pk, gsi4sk",
                "ConditionExpression": "version = :version AND #status = :attention",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":from": resumed.value,
                    ":attention": Status.NEEDS_ATTENTION.value,
                    ":retries": case.retries + 1,
                    ":at": _iso(event.at),
                    ":one": 1,
                    ":version": case.version,
                },
            },
            event,
        )
        if not done:
            raise ConflictError(f"case {case.complaint_id} changed since version {case.version}")
        return case.model_copy(
            update={
                "status": resumed,
                "retries": case.retries + 1,
                "attention_reason": None,
                "attention_from": None,
                "version": case.version + 1,
            }
        )

    def set_execution(self, complaint_id: str, execution_arn: str) -> None:
        """Point the case at a new execution (a retry's)."""
        with aws_errors():
            self._table.update_item(
                Key=_case_key(complaint_id),
                UpdateExpression="SET execution_arn = :arn",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":arn": execution_arn},
            )

    def unstarted(self, created_before: datetime, limit: int) -> list[str]:
        with aws_errors():
            page = self._table.query(
                IndexName="GSI1",
                KeyConditionExpression="gsi1pk = :pk AND gsi1sk < :before",
                ExpressionAttributeValues={":pk": UNSTARTED, ":before": _iso(created_before)},
                Limit=limit,
            )
        return [item["pk"].removeprefix("CASE#") for item in page.get("Items", [])]


class DynamoTriageRepository(DynamoCaseRepository):
    """The triage stage's reads and writes on the same table."""

    def recent_for_customer(self, customer_key: str, since: datetime, limit: int) -> list[CaseSummary]:
        with aws_errors():
            page = self._table.query(
                IndexName="GSI2",
                KeyConditionExpression="gsi2pk = :pk AND gsi2sk >= :since",
                ExpressionAttributeValues={":pk": f"CUSTOMER#{customer_key}", ":since": _iso(since)},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [CaseSummary.model_validate(item) for item in page.get("Items", [])]

    def investigator_loads(self, department: str) -> dict[str, tuple[int, str]]:
        with aws_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": f"ROSTER#{department}"},
                ConsistentRead=True,
            )
        return {
            item["sk"].removeprefix("INV#"): (
                int(item.get("open_cases", 0)),
                item.get("last_assigned_at", ""),
            )
            for item in page.get("Items", [])
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            with aws_errors():
                self._client.transact_write_items(TransactItems=items)
        except ComplaintsError as error:
            reasons = _cancellation_codes(error.__cause__)
            if "ConditionalCheckFailed" in reasons:
                raise ConflictError("the case or a counter changed") from error
            raise

    def _case_update(self, case: Case, values: dict[str, Any], extra: str = "") -> dict[str, Any]:
        expression, names, placeholders = _set_clause(values)
        names["#status"] = "status"
        names["#version"] = "version"
        placeholders.update({":version": case.version, ":received": Status.RECEIVED.value, ":one": 1})
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": _case_key(case.complaint_id),
                "UpdateExpression": f"{expression}, #version = #version + :one{extra}",
                "ConditionExpression": "#version = :version AND #status = :received",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": placeholders,
            }
        }

    def mark_triaged(
        self,
        case: Case,
        fields: TriageFields,
        assignment: Assignment,
        event: CaseEvent,
        stats: Tally | None = None,
    ) -> None:
        c, p = fields.classification, fields.priority
        values = {
            "status": Status.TRIAGED.value,
            "category": c.category,
            "confidence": round(c.confidence, 4),
            "evidence": list(c.evidence),
            "manual_review": c.manual_review,
            "priority": p.priority,
            "priority_score": p.score,
            "priority_breakdown": [b.model_dump() for b in p.breakdown],
            "department": fields.department,
            "assignee": fields.investigator.id,
            "assignee_name": fields.investigator.name,
            "first_response_due_at": _iso(fields.first_response_due),
            "resolution_due_at": _iso(fields.resolution_due),
            "response_due_at": _iso(fields.response_due),
            "triaged_at": _iso(event.at),
            "updated_at": _iso(event.at),
            "gsi3pk": f"QUEUE#{fields.department}",
            # In UTC, whatever zone the policy gives it in: ops compare it as text with the time now.
            "gsi3sk": f"{p.priority}#{_iso(fields.resolution_due.astimezone(UTC))}",
        }
        expected = assignment.expected_open
        roster: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"pk": f"ROSTER#{assignment.department}", "sk": f"INV#{assignment.investigator.id}"},
            "UpdateExpression": "SET open_cases = if_not_exists(open_cases, :zero) + :one, "
            "last_assigned_at = :at, kind = :kind",
            "ExpressionAttributeValues": {":zero": 0, ":one": 1, ":at": _iso(event.at), ":kind": "roster"},
        }
        if expected is None:
            roster["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            roster["ConditionExpression"] = "open_cases = :expected"
            roster["ExpressionAttributeValues"][":expected"] = expected
        self._transact(
            [
                self._case_update(case, values),
                {"Update": roster},
                self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
                *self._stats(stats),
            ]
        )

    def _stats(self, stats: Tally | None) -> list[dict[str, Any]]:
        return [] if stats is None else [stats_update(self._table.name, stats)]

    def mark_related(
        self, case: Case, match: DuplicateMatch, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        values = {
            "status": Status.RELATED.value,
            "related_to": match.complaint_id,
            "related_reason": f"{match.reason}: {match.detail}",
            "updated_at": _iso(event.at),
        }
        self._transact(
            [
                self._case_update(case, values),
                self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
                *self._stats(stats),
            ]
        )

    def mark_related_notified(self, complaint_id: str, at: datetime) -> bool:
        try:
            with aws_errors():
                self._table.update_item(
                    Key=_case_key(complaint_id),
                    UpdateExpression="SET related_notified_at = :at",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(related_notified_at)",
                    ExpressionAttributeValues={":at": _iso(at)},
                )
        except ConflictError:
            return False
        return True

    def count_for_spikes(self, case: Case, hour: str, at: datetime) -> int | None:
        category = case.category or "other"
        key = {"pk": f"SPIKE#{category}", "sk": f"HOUR#{hour}"}
        expires = int((at + timedelta(days=30)).timestamp())
        try:
            self._transact(
                [
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": _case_key(case.complaint_id),
                            "UpdateExpression": "SET spike_counted_at = :at",
                            "ConditionExpression": "attribute_exists(pk) "
                            "AND attribute_not_exists(spike_counted_at)",
                            "ExpressionAttributeValues": {":at": _iso(at)},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": key,
                            "UpdateExpression": "ADD complaints :one SET kind = :kind, #ttl = :ttl",
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": {
                                ":one": 1,
                                ":kind": "spike_counter",
                                ":ttl": expires,
                            },
                        }
                    },
                ]
            )
        except ConflictError:
            return None
        with aws_errors():
            found = self._table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        return int(found.get("complaints", 0))

    def hour_counts(self, category: str, hours: list[str]) -> dict[str, int]:
        keys = [{"pk": f"SPIKE#{category}", "sk": f"HOUR#{hour}"} for hour in hours]
        counts: dict[str, int] = {}
        for start in range(0, len(keys), 100):
            request = {self._table.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                with aws_errors():
                    answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table.name, []):
                    counts[item["sk"].removeprefix("HOUR#")] = int(item.get("complaints", 0))
                request = answer.get("UnprocessedKeys") or {}
        return counts

    def add_spike_example(self, category: str, hour: str, complaint_id: str, limit: int) -> None:
        try:
            with aws_errors():
                self._table.update_item(
                    Key={"pk": f"SPIKE#{category}", "sk": f"HOUR#{hour}"},
                    UpdateExpression="SET examples = list_append(if_not_exists(examples, :empty), :id)",
                    ConditionExpression="attribute_not_exists(examples) OR size(examples) < :limit",
                    ExpressionAttributeValues={":empty": [], ":id": [complaint_id], ":limit": limit},
                )
        except ConflictError:
            pass  # enough examples already

    def spike_examples(self, category: str, hour: str) -> list[str]:
        with aws_errors():
            found = self._table.get_item(
                Key={"pk": f"SPIKE#{category}", "sk": f"HOUR#{hour}"}, ConsistentRead=True
            )
        return list(found.get("Item", {}).get("examples", []))

    def claim_spike_alert(self, category: str, hour: str, complaint_id: str, at: datetime) -> bool:
        try:
            with aws_errors():
                self._table.put_item(
                    Item={
                        "pk": f"SPIKE#{category}",
                        "sk": f"ALERT#{hour}",
                        "kind": "spike_alert",
                        "claimedBy": complaint_id,
                        "claimedAt": _iso(at),
                        "category": category,
                        "hour": hour,
                        "gsi4pk": WATCH_ALERT,
                        "gsi4sk": _iso(at),
                        "ttl": int((at + timedelta(days=30)).timestamp()),
                    },
                    # Free, or claimed by this very complaint whose send did not go through (a retry).
                    ConditionExpression="attribute_not_exists(pk) OR "
                    "(claimedBy = :me AND attribute_not_exists(sentAt))",
                    ExpressionAttributeValues={":me": complaint_id},
                )
        except ConflictError:
            return False
        return True

    def mark_spike_alert_sent(self, category: str, hour: str, at: datetime) -> None:
        with aws_errors():
            self._table.update_item(
                Key={"pk": f"SPIKE#{category}", "sk": f"ALERT#{hour}"},
                UpdateExpression="SET sentAt = :at",
                ExpressionAttributeValues={":at": _iso(at)},
            )


class DynamoInvestigationRepository(DynamoTriageRepository):
    """Evidence, task links and findings on the same table."""

    def evidence(self, complaint_id: str) -> list[EvidenceItem]:
        from complaints.evidence import EvidenceItem

        with aws_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :evidence)",
                ExpressionAttributeValues={":pk": f"CASE#{complaint_id}", ":evidence": "EVIDENCE#"},
                ConsistentRead=True,
            )
        return [EvidenceItem.model_validate(item) for item in page.get("Items", [])]

    def start_investigation(self, case: Case, items: list[EvidenceItem], event: CaseEvent) -> bool:
        puts = [
            self._put(
                dynamo_value(
                    {
                        "pk": f"CASE#{case.complaint_id}",
                        "sk": f"EVIDENCE#{item.seq:04d}",
                        "kind": "evidence",
                        **item.model_dump(mode="json"),
                    }
                ),
                "attribute_not_exists(pk)",
            )
            for item in items[:90]
        ]
        update = {
            "Update": {
                "TableName": self._table.name,
                "Key": _case_key(case.complaint_id),
                "UpdateExpression": "SET #status = :investigating, updated_at = :at, "
                "version = version + :one",
                "ConditionExpression": "#status = :triaged",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":investigating": Status.INVESTIGATING.value,
                    ":triaged": Status.TRIAGED.value,
                    ":at": _iso(event.at),
                    ":one": 1,
                },
            }
        }
        try:
            self._transact(
                [update, *puts, self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)")]
            )
        except ConflictError:
            return False
        return True

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Store a new task link and point the case at it. An approval link also puts the case on the
        ops watch list (since its first approval request) with the level it waits at."""
        case_update = f"SET {LINK_ATTRIBUTE[link.kind]} = :link, updated_at = :at"
        values: dict[str, Any] = {":link": link.link_id, ":at": _iso(event.at)}
        if link.kind == "approve":
            case_update += ", approval_level = :level, gsi4pk = :watch, gsi4sk = if_not_exists(gsi4sk, :at)"
            values |= {":level": link.level, ":watch": WATCH_APPROVAL}
        items: list[dict[str, Any]] = [
            self._put(
                {"pk": f"LINK#{link.link_id}", "sk": "LINK", "kind": "link", **link.model_dump(mode="json")},
                "attribute_not_exists(pk)",
            ),
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": _case_key(link.complaint_id),
                    "UpdateExpression": case_update,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": values,
                }
            },
            self._put(_event_item(link.complaint_id, event), "attribute_not_exists(pk)"),
            *self._stats(stats),
        ]
        if supersede:
            items.append(
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": {"pk": f"LINK#{supersede}", "sk": "LINK"},
                        "UpdateExpression": "SET #status = :superseded, held_by = :holder",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":superseded": "SUPERSEDED",
                            ":holder": link.recipient_name,
                        },
                    }
                }
            )
        self._transact(items)

    def rebind_link(self, link_id: str, token: str, expires_at: datetime, event: CaseEvent) -> None:
        """The link answers a later wait of the same person (the reminder's): not mailed for it yet."""
        self._update_link(
            link_id,
            event,
            UpdateExpression="SET #token = :token, expires_at = :expires, reminded = :true "
            "REMOVE notified_at",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": token, ":expires": _iso(expires_at), ":true": True},
        )

    def mark_notified(self, link_id: str, at: datetime) -> None:
        """The link's email went out for its current wait."""
        with aws_errors():
            self._table.update_item(
                Key={"pk": f"LINK#{link_id}", "sk": "LINK"},
                UpdateExpression="SET notified_at = :at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": _iso(at)},
            )

    def _update_link(self, link_id: str, event: CaseEvent, **update: Any) -> None:
        """One transaction: the link item updated as `update` says, and the case's audit event."""
        link = self.get_link(link_id)
        assert link is not None
        key = {"pk": f"LINK#{link_id}", "sk": "LINK"}
        self._transact(
            [
                {"Update": {"TableName": self._table.name, "Key": key, **update}},
                self._put(_event_item(link.complaint_id, event), "attribute_not_exists(pk)"),
            ]
        )

    def get_link(self, link_id: str) -> TaskLink | None:
        from complaints.tasks import TaskLink

        with aws_errors():
            found = self._table.get_item(Key={"pk": f"LINK#{link_id}", "sk": "LINK"}, ConsistentRead=True)
        item = found.get("Item")
        return TaskLink.model_validate(item) if item else None

    def complete_link(self, link_id: str, at: datetime, answer: dict[str, Any]) -> bool:
        try:
            with aws_errors():
                self._table.update_item(
                    Key={"pk": f"LINK#{link_id}", "sk": "LINK"},
                    UpdateExpression="SET #status = :done, decided_at = :at, answer = :answer",
                    ConditionExpression="#status = :open",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":done": "DONE",
                        ":open": "OPEN",
                        ":at": _iso(at),
                        ":answer": json.dumps(answer),
                    },
                )
        except ConflictError:
            return False
        return True

    def keep_answer(self, link_id: str) -> None:
        with aws_errors():
            self._table.update_item(
                Key={"pk": f"LINK#{link_id}", "sk": "LINK"},
                UpdateExpression="SET kept = :kept",
                ExpressionAttributeValues={":kept": True},
            )

    def hand_on(self, link_id: str, event: CaseEvent) -> None:
        self._update_link(
            link_id,
            event,
            UpdateExpression="SET kept = :no",
            ConditionExpression="kept = :yes",
            ExpressionAttributeValues={":no": False, ":yes": True},
        )

    def record_findings(self, case: Case, findings: Findings, status: Status, event: CaseEvent) -> None:
        self._transact(
            [
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": _case_key(case.complaint_id),
                        "UpdateExpression": "SET findings = :findings, #status = :status, updated_at = :at, "
                        "version = version + :one",
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":findings": dynamo_value(findings.model_dump(mode="json")),
                            ":status": status.value,
                            ":at": _iso(event.at),
                            ":one": 1,
                            ":version": case.version,
                        },
                    }
                },
                self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
            ]
        )

    def record_decision(
        self,
        case: Case,
        values: dict[str, Any],
        event: CaseEvent | None,
        stats: Tally | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        """Set case attributes and remove `remove` (version-checked), with a timeline event if one is
        given and report counters if any, atomically."""
        at = event.at if event else datetime.now(case.created_at.tzinfo)
        items = [self._decision(case, values, at, remove)]
        if event is not None:
            items.append(self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"))
        self._transact(items + self._stats(stats))

    def _decision(
        self, case: Case, values: dict[str, Any], at: datetime, remove: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The version-checked update of a case's attributes, as a transaction item."""
        expression, names, placeholders = _set_clause({**values, "updated_at": _iso(at)})
        placeholders.update({":one": 1, ":version": case.version})
        removal = f" REMOVE {', '.join(remove)}" if remove else ""
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": _case_key(case.complaint_id),
                "UpdateExpression": f"{expression}, version = version + :one{removal}",
                "ConditionExpression": "version = :version",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": placeholders,
            }
        }

    def close_case(self, case: Case, event: CaseEvent, stats: Tally | None, archive_until: datetime) -> None:
        """CLOSED (version-checked; out of its work queue and off the watch list), its timeline event, its
        report counters, the archive record (the closed case, kept until `archive_until`; the table's TTL
        removes it) and one fewer open case for its investigator, in one transaction: a retried step finds
        all of it done, or none of it."""
        closed = case.model_copy(
            update={
                "status": Status.CLOSED,
                "closed_at": event.at,
                "updated_at": event.at,
                "version": case.version + 1,
            }
        )
        archive = {
            "pk": f"ARCHIVE#{case.complaint_id}",
            "sk": "ARCHIVE",
            "kind": "archive",
            "case": dynamo_value(closed.model_dump(mode="json", exclude_none=True)),
            "archivedAt": _iso(event.at),
            "ttl": int(archive_until.timestamp()),
        }
        items = [
            self._decision(
                case,
                {"status": Status.CLOSED.value, "closed_at": event.at},
                event.at,
                QUEUE_KEYS + WATCH_KEYS,
            ),
            self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
            {"Put": {"TableName": self._table.name, "Item": archive}},
            *self._release(case),
            *self._stats(stats),
        ]
        self._transact(items)

    def _release(self, case: Case) -> list[dict[str, Any]]:
        """One fewer open case on the investigator's roster counter, if there is one to take away (a case
        routed before counting began has none); its condition fails the transaction if another close
        took the last one meanwhile (ConflictError: the step reads again)."""
        if not case.department or not case.assignee:
            return []
        key = {"pk": f"ROSTER#{case.department}", "sk": f"INV#{case.assignee}"}
        with aws_errors():
            counter = self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        if int(counter.get("open_cases", 0)) <= 0:
            return []
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": key,
                    "UpdateExpression": "ADD open_cases :minus",
                    "ConditionExpression": "open_cases > :zero",
                    "ExpressionAttributeValues": {":minus": -1, ":zero": 0},
                }
            }
        ]

    def record(self, reference: str) -> dict[str, Any] | None:
        """A platform record (ledger entry, bet, order, account event) by its id: the demo records locally."""
        with aws_errors():
            found = self._table.get_item(Key={"pk": f"RECORD#{reference}", "sk": "RECORD"})
        item = found.get("Item")
        if not item:
            return None
        return {
            k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.items() if k not in ("pk", "sk")
        }


def _cancellation_codes(error: BaseException | None) -> list[str]:
    if not isinstance(error, ClientError):
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]
