"""Triage's store on DynamoDB (keys: keys.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from complaints.adapters.dynamo.base import DynamoStore, _set_clause, aws_errors, stats_update
from complaints.adapters.dynamo.keys import (
    _case_key,
    _event_item,
    _iso,
    customer_partition,
    investigator_of,
    queue_partition,
    roster_key,
    roster_partition,
)
from complaints.core.errors import ConflictError
from complaints.core.models import Case, CaseEvent, CaseSummary, Status
from complaints.core.stats import Tally
from complaints.triage.ports import Assignment, DuplicateMatch, TriageFields


class TriageStore(DynamoStore):
    """Triage's reads and its one write: the customer's recent cases, the roster's loads, the triaged case
    in its work queue with its investigator counted, and related cases."""

    def recent_for_customer(self, customer_key: str, since: datetime, limit: int) -> list[CaseSummary]:
        with aws_errors():
            page = self._table.query(
                IndexName="GSI2",
                KeyConditionExpression="gsi2pk = :pk AND gsi2sk >= :since",
                ExpressionAttributeValues={":pk": customer_partition(customer_key), ":since": _iso(since)},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [CaseSummary.model_validate(item) for item in page.get("Items", [])]

    def investigator_loads(self, department: str) -> dict[str, tuple[int, str]]:
        with aws_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": roster_partition(department)},
                ConsistentRead=True,
            )
        return {
            investigator_of(item["sk"]): (
                int(item.get("open_cases", 0)),
                item.get("last_assigned_at", ""),
            )
            for item in page.get("Items", [])
        }

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

    def _stats(self, stats: Tally | None) -> list[dict[str, Any]]:
        return [] if stats is None else [stats_update(self._table.name, stats)]

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
            "gsi3pk": queue_partition(fields.department),
            # In UTC, whatever zone the policy gives it in: ops compare it as text with the time now.
            "gsi3sk": f"{p.priority}#{_iso(fields.resolution_due.astimezone(UTC))}",
        }
        expected = assignment.expected_open
        roster: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": roster_key(assignment.department, assignment.investigator.id),
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
