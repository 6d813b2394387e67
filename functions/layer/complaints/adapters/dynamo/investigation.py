"""The investigation, approval and resolution writes on DynamoDB: evidence, task links, findings,
decisions and closure, each state change one transaction (keys: keys.py)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from complaints.adapters.dynamo.base import _set_clause, aws_errors, dynamo_value
from complaints.adapters.dynamo.keys import (
    EVIDENCE_PREFIX,
    LINK_ATTRIBUTE,
    QUEUE_KEYS,
    WATCH_APPROVAL,
    WATCH_KEYS,
    _case_key,
    _event_item,
    _iso,
    archive_key,
    case_partition,
    evidence_key,
    link_key,
    record_key,
    roster_key,
)
from complaints.adapters.dynamo.triage import DynamoTriageRepository
from complaints.core.errors import ConflictError
from complaints.core.evidence import EvidenceItem
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.stats import Tally
from complaints.core.tasks import CustomerAnswer, Findings, TaskLink


class DynamoInvestigationRepository(DynamoTriageRepository):
    """Evidence, task links and findings on the same table."""

    def evidence(self, complaint_id: str) -> list[EvidenceItem]:
        from complaints.core.evidence import EvidenceItem

        with aws_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :evidence)",
                ExpressionAttributeValues={":pk": case_partition(complaint_id), ":evidence": EVIDENCE_PREFIX},
                ConsistentRead=True,
            )
        return [EvidenceItem.model_validate(item) for item in page.get("Items", [])]

    def start_investigation(self, case: Case, items: list[EvidenceItem], event: CaseEvent) -> bool:
        puts = [
            self._put(
                dynamo_value(
                    {
                        **evidence_key(case.complaint_id, item.seq),
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

    def approve(self, case: Case, event: CaseEvent) -> None:
        values = {"status": Status.RESOLVING.value, "rejection_comment": None}
        self._update_case(case, values, event, remove=WATCH_KEYS)

    def reject(self, case: Case, comment: str, event: CaseEvent) -> None:
        values = {"status": Status.INVESTIGATING.value, "findings": None, "rejection_comment": comment}
        self._update_case(case, values, event, remove=WATCH_KEYS)

    def record_remedy(self, case: Case, reference: str, event: CaseEvent) -> None:
        values = {
            "remedy_ref": reference,
            "remedy_count": case.remedy_count + 1,
            "remedy_applied_at": event.at,
        }
        self._update_case(case, values, event)

    def await_confirmation(self, case: Case, at: datetime) -> None:
        values = {"status": Status.AWAITING_CONFIRMATION.value, "resolution_sent_at": at}
        self._update_case(case, values, None, at=at)

    def record_customer_answer(self, case: Case, answer: CustomerAnswer | None, event: CaseEvent) -> None:
        self._update_case(case, _answer_values(answer), event)

    def reopen(self, case: Case, answer: CustomerAnswer, event: CaseEvent) -> None:
        values = _answer_values(answer) | _REOPENED
        self._update_case(case, values, event)

    def record_final_response(self, case: Case, event: CaseEvent) -> None:
        self._update_case(case, {"final_response_sent_at": event.at}, event)

    def _update_case(
        self,
        case: Case,
        values: dict[str, Any],
        event: CaseEvent | None,
        remove: tuple[str, ...] = (),
        at: datetime | None = None,
    ) -> None:
        """Set case attributes and remove `remove` (version-checked), with its timeline event if there is
        one, atomically."""
        when = event.at if event else at or datetime.now(case.created_at.tzinfo)
        items = [self._decision(case, values, when, remove)]
        if event is not None:
            items.append(self._put(_event_item(case.complaint_id, event), "attribute_not_exists(pk)"))
        self._transact(items)

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

    def record(self, reference: str) -> dict[str, Any] | None:
        """A platform record (ledger entry, bet, order, account event) by its id: the demo records locally."""
        with aws_errors():
            found = self._table.get_item(Key=record_key(reference))
        item = found.get("Item")
        if not item:
            return None
        return {
            k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.items() if k not in ("pk", "sk")
        }


# A case the customer said no to goes back to investigation without its findings and remedy.
_REOPENED = {"reopened": True, "findings": None, "remedy_ref": None, "status": Status.INVESTIGATING.value}


def _answer_values(answer: CustomerAnswer | None) -> dict[str, Any]:
    return {} if answer is None else {"csat_rating": answer.rating, "customer_resolved": answer.resolved}
