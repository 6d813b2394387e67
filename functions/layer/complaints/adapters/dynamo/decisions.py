"""The case's decisions after triage on DynamoDB (keys: keys.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from complaints.adapters.dynamo.base import (
    DynamoStore,
    _set_clause,
    aws_errors,
    dynamo_value,
    stats_update,
)
from complaints.adapters.dynamo.keys import (
    QUEUE_KEYS,
    WATCH_KEYS,
    _case_key,
    _event_item,
    _iso,
    archive_key,
    message_key,
    roster_key,
)
from complaints.core import changes
from complaints.core.conversation import Message
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.stats import Tally
from complaints.core.tasks import CustomerAnswer, Findings


class DecisionStore(DynamoStore):
    """The case's state changes after triage: findings, approval, remedy, the customer's answer, the final
    response and closure, each one version-checked transaction with its event."""

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

    def approve(self, case: Case, event: CaseEvent) -> None:
        self._update_case(case, changes.approved(), event, remove=WATCH_KEYS)

    def reject(self, case: Case, comment: str, event: CaseEvent) -> None:
        self._update_case(case, changes.rejected(comment), event, remove=WATCH_KEYS)

    def record_remedy(self, case: Case, reference: str, event: CaseEvent) -> None:
        self._update_case(case, changes.remedy_applied(case, reference, event.at), event)

    def await_confirmation(self, case: Case, at: datetime) -> None:
        self._update_case(case, changes.awaiting_confirmation(at), None, at=at)

    def record_customer_answer(self, case: Case, answer: CustomerAnswer | None, event: CaseEvent) -> None:
        self._update_case(case, changes.answered(answer), event)

    def reopen(self, case: Case, answer: CustomerAnswer, event: CaseEvent) -> None:
        self._update_case(case, changes.reopened(answer), event)

    def record_final_response(self, case: Case, event: CaseEvent) -> None:
        self._update_case(case, changes.final_response_sent(event.at), event)

    def ask_customer(self, case: Case, values: dict[str, Any], event: CaseEvent, message: Message) -> None:
        """The question, as our message in the conversation, and the case waiting for the complainant."""
        item = {
            **message_key(case.complaint_id, message.key),
            "kind": "message",
            **dynamo_value(message.model_dump(mode="json", exclude_none=True)),
        }
        update = self._decision(case, values | {"last_message_at": message.at}, event.at)
        # Counted as add_message counts (a message of the complainant's may come at the same moment).
        update["Update"]["UpdateExpression"] += " ADD message_count :one"
        self._transact(
            [
                update,
                self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"),
                self._put(item, "attribute_not_exists(pk)"),
            ]
        )

    def wait_for_answer(self, case: Case, values: dict[str, Any], event: CaseEvent | None) -> None:
        self._update_case(case, values, event, at=event.at if event else datetime.now(case.created_at.tzinfo))

    def resume_investigation(
        self, case: Case, values: dict[str, Any], event: CaseEvent, stats: Tally | None = None
    ) -> None:
        """Back to INVESTIGATING, the resolution target moved on: the work queue's sort key follows it."""
        due = values.get("resolution_due_at")
        if due is not None and case.priority:
            values = values | {"gsi3sk": f"{case.priority}#{_iso(due.astimezone(UTC))}"}
        extra = [stats_update(self._table.name, stats)] if stats is not None else []
        self._update_case(case, values, event, extra=extra)

    def _update_case(
        self,
        case: Case,
        values: dict[str, Any],
        event: CaseEvent | None,
        remove: tuple[str, ...] = (),
        at: datetime | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        """Set case attributes and remove `remove` (version-checked), with its timeline event if there is
        one (and the `extra` transaction items), atomically."""
        when = event.at if event else at or datetime.now(case.created_at.tzinfo)
        items = [self._decision(case, values, when, remove)]
        if event is not None:
            items.append(self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"))
        self._transact([*items, *(extra or [])])

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
            **archive_key(case.complaint_id),
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
        key = roster_key(case.department, case.assignee)
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
