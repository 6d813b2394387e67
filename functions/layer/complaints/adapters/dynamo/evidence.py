"""The evidence store on DynamoDB (keys: keys.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from complaints.adapters.dynamo.base import DynamoStore, _cancellation_codes, aws_errors, dynamo_value
from complaints.adapters.dynamo.keys import (
    EVIDENCE_PREFIX,
    _case_key,
    _event_item,
    _iso,
    case_partition,
    evidence_key,
    record_key,
)
from complaints.core.errors import ConflictError, TransientError
from complaints.core.evidence import EvidenceItem
from complaints.core.models import Case, CaseEvent, Status


class EvidenceStore(DynamoStore):
    """The case's evidence chain, and the platform records the evidence is looked up in."""

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
        except ConflictError as error:
            if _cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                return False  # not TRIAGED: started before
            # A file the complainant sent meanwhile took the chain's next place: the step runs again and
            # chains after it.
            raise TransientError("another write took the evidence chain's next place") from error
        return True

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
