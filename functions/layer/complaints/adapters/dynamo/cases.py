"""The case store on DynamoDB (keys: keys.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from complaints.adapters.dynamo.base import (
    DynamoStore,
    _cancellation_codes,
    aws_errors,
    dynamo_value,
    stats_update,
)
from complaints.adapters.dynamo.keys import (
    UNSTARTED,
    WATCH_ATTENTION,
    _case_key,
    _event_item,
    _iso,
    claim_key,
    complaint_id_of,
    customer_partition,
    mail_counter_key,
)
from complaints.core import ids
from complaints.core.errors import ComplaintsError, ConflictError, TransientError
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.stats import Tally
from complaints.intake.ports import Claim


class CaseStore(DynamoStore):
    """The case aggregate from intake to supervision: the case with its claims, the acknowledgement's
    hourly counter, its workflow execution, NEEDS_ATTENTION and resume."""

    def create(
        self, case: Case, event: CaseEvent, claim: Claim, now: datetime, stats: Tally | None = None
    ) -> Claim | None:
        item = {
            **_case_key(case.complaint_id),
            "kind": "case",
            "gsi1pk": UNSTARTED,
            "gsi1sk": _iso(case.created_at),
            "gsi2pk": customer_partition(ids.customer_key(case.customer.email)),
            "gsi2sk": _iso(case.created_at),
            **dynamo_value(case.model_dump(mode="json", exclude_none=True)),
        }
        claim_item = {
            **claim_key(claim.key),
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
            found = self._table.get_item(Key=claim_key(key), ConsistentRead=True)
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
                                "Key": mail_counter_key(recipient, hour),
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
        return [complaint_id_of(item["pk"]) for item in page.get("Items", [])]
