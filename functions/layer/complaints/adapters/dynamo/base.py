"""What every DynamoDB adapter shares: AWS errors become domain errors (failed conditions ->
ConflictError; throttling, and transactions cancelled by a conflict or by throttling and by nothing else
-> TransientError), values as DynamoDB stores them, and the report counters' update."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.adapters.dynamo.keys import (
    CASE_SK,
    EVENT_PREFIX,
    _case_key,
    _event_item,
    case_partition,
    stats_key,
)
from complaints.core.errors import CaseNotFound, ComplaintsError, ConflictError, TransientError
from complaints.core.models import Case, CaseEvent
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
            "Key": stats_key(stats.day, stats.shard),
            "UpdateExpression": f"ADD {adds} SET kind = :kind, #day = :day",
            "ExpressionAttributeNames": {**names, "#day": "day"},
            "ExpressionAttributeValues": values,
        }
    }


def _cancellation_codes(error: BaseException | None) -> list[str]:
    """Why a transaction was cancelled, item by item, from the ClientError among `error` and its causes."""
    while error is not None and not isinstance(error, ClientError):
        error = error.__cause__
    if error is None:
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]


class DynamoStore:
    """What every store on the table shares: the table, conditional puts and transactions as domain
    errors, a version-checked update with its event, and the case with its timeline (every port reads it)."""

    def __init__(self, table: Any):
        self._table = table
        self._client = table.meta.client

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict:
        put: dict[str, Any] = {"TableName": self._table.name, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            with aws_errors():
                self._client.transact_write_items(TransactItems=items)
        except ComplaintsError as error:
            reasons = _cancellation_codes(error.__cause__)
            if "ConditionalCheckFailed" in reasons:
                raise ConflictError("the case or a counter changed") from error
            raise

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

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of a Query, page after page."""
        items: list[dict[str, Any]] = []
        with aws_errors():
            while True:
                page = self._table.query(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get(self, complaint_id: str) -> tuple[Case, list[CaseEvent]]:
        items = self._query_all(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": case_partition(complaint_id)},
            ConsistentRead=True,
        )
        cases = [item for item in items if item["sk"] == CASE_SK]
        if not cases:
            raise CaseNotFound(complaint_id)
        events = [CaseEvent.model_validate(item) for item in items if item["sk"].startswith(EVENT_PREFIX)]
        return Case.model_validate(cases[0]), events
