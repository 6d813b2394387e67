"""The task-link store on DynamoDB (keys: keys.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from complaints.adapters.dynamo.base import DynamoStore, aws_errors
from complaints.adapters.dynamo.keys import (
    WATCH_APPROVAL,
    _case_key,
    _event_item,
    _iso,
    link_key,
)
from complaints.core.changes import LINK_FIELD
from complaints.core.errors import ConflictError
from complaints.core.models import CaseEvent
from complaints.core.stats import Tally
from complaints.core.tasks import TaskLink


class LinkStore(DynamoStore):
    """Task links: one per human wait, superseded, rebound, answered exactly once, kept, handed on."""

    def put_link(
        self, link: TaskLink, supersede: str | None, event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Store a new task link and point the case at it. An approval link also puts the case on the
        ops watch list (since its first approval request) with the level it waits at."""
        case_update = f"SET {LINK_FIELD[link.kind]} = :link, updated_at = :at"
        values: dict[str, Any] = {":link": link.link_id, ":at": _iso(event.at)}
        if link.kind == "approve":
            case_update += ", approval_level = :level, gsi4pk = :watch, gsi4sk = if_not_exists(gsi4sk, :at)"
            values |= {":level": link.level, ":watch": WATCH_APPROVAL}
        items: list[dict[str, Any]] = [
            self._put(
                {**link_key(link.link_id), "kind": "link", **link.model_dump(mode="json")},
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
                        "Key": link_key(supersede),
                        "UpdateExpression": "SET #status = :superseded, held_by = :holder",
                        "ConditionExpression": "attribute_exists(pk)",  # never a half link
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
                Key=link_key(link_id),
                UpdateExpression="SET notified_at = :at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": _iso(at)},
            )

    def _update_link(self, link_id: str, event: CaseEvent, **update: Any) -> None:
        """One transaction: the link item updated as `update` says, and the case's audit event."""
        link = self.get_link(link_id)
        assert link is not None
        key = link_key(link_id)
        self._transact(
            [
                {"Update": {"TableName": self._table.name, "Key": key, **update}},
                self._put(_event_item(link.complaint_id, event), "attribute_not_exists(pk)"),
            ]
        )

    def get_link(self, link_id: str) -> TaskLink | None:
        from complaints.core.tasks import TaskLink

        with aws_errors():
            found = self._table.get_item(Key=link_key(link_id), ConsistentRead=True)
        item = found.get("Item")
        return TaskLink.model_validate(item) if item else None

    def complete_link(self, link_id: str, at: datetime, answer: dict[str, Any]) -> bool:
        try:
            with aws_errors():
                self._table.update_item(
                    Key=link_key(link_id),
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
                Key=link_key(link_id),
                UpdateExpression="SET kept = :kept",
                ConditionExpression="attribute_exists(pk)",  # never a half link
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
