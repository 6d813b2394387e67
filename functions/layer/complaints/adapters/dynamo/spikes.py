"""The spike counters on DynamoDB (keys: keys.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from complaints.adapters.dynamo.base import DynamoStore, aws_errors
from complaints.adapters.dynamo.keys import (
    WATCH_ALERT,
    _case_key,
    _iso,
    hour_of,
    spike_alert_key,
    spike_hour_key,
)
from complaints.core.errors import ConflictError
from complaints.core.models import Case


class SpikeStore(DynamoStore):
    """The hourly complaint counters per category, their examples, and the one alert per hour."""

    def count_for_spikes(self, case: Case, hour: str, at: datetime) -> int | None:
        category = case.category or "other"
        key = spike_hour_key(category, hour)
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
        keys = [spike_hour_key(category, hour) for hour in hours]
        counts: dict[str, int] = {}
        for start in range(0, len(keys), 100):
            request = {self._table.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                with aws_errors():
                    answer = self._client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table.name, []):
                    counts[hour_of(item["sk"])] = int(item.get("complaints", 0))
                request = answer.get("UnprocessedKeys") or {}
        return counts

    def add_spike_example(self, category: str, hour: str, complaint_id: str, limit: int) -> None:
        try:
            with aws_errors():
                self._table.update_item(
                    Key=spike_hour_key(category, hour),
                    UpdateExpression="SET examples = list_append(if_not_exists(examples, :empty), :id)",
                    ConditionExpression="attribute_not_exists(examples) OR size(examples) < :limit",
                    ExpressionAttributeValues={":empty": [], ":id": [complaint_id], ":limit": limit},
                )
        except ConflictError:
            pass  # enough examples already

    def spike_examples(self, category: str, hour: str) -> list[str]:
        with aws_errors():
            found = self._table.get_item(Key=spike_hour_key(category, hour), ConsistentRead=True)
        return list(found.get("Item", {}).get("examples", []))

    def claim_spike_alert(self, category: str, hour: str, complaint_id: str, at: datetime) -> bool:
        try:
            with aws_errors():
                self._table.put_item(
                    Item={
                        **spike_alert_key(category, hour),
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
                Key=spike_alert_key(category, hour),
                UpdateExpression="SET sentAt = :at",
                ExpressionAttributeValues={":at": _iso(at)},
            )
