"""The conversation store on DynamoDB (keys: keys.py): a case's messages, emails held for ops, and which
case each email we sent was about."""

from __future__ import annotations

from complaints.adapters.dynamo.base import DynamoStore, aws_errors, dynamo_value
from complaints.adapters.dynamo.keys import (
    HELD_PK,
    MESSAGE_PREFIX,
    _case_key,
    _event_item,
    _iso,
    case_partition,
    evidence_key,
    held_mail_key,
    message_key,
    sent_mail_key,
)
from complaints.core.conversation import HeldMail, Message
from complaints.core.errors import ConflictError
from complaints.core.evidence import EvidenceItem
from complaints.core.models import CaseEvent


class ConversationStore(DynamoStore):
    def add_message(
        self,
        complaint_id: str,
        message: Message,
        event: CaseEvent,
        evidence: list[EvidenceItem] | None = None,
    ) -> bool:
        item = {
            **message_key(complaint_id, message.key),
            "kind": "message",
            **dynamo_value(message.model_dump(mode="json", exclude_none=True)),
        }
        count = {
            "Update": {
                "TableName": self._table.name,
                "Key": _case_key(complaint_id),
                # Not a new version of the case: a message changes none of what the workflow's steps
                # read and write under their version check, and would make one that read the case a
                # moment before fail.
                "UpdateExpression": "SET message_count = if_not_exists(message_count, :zero) + :one, "
                "last_message_at = :last, updated_at = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {
                    ":zero": 0,
                    ":one": 1,
                    ":last": _iso(message.at),
                    ":at": _iso(event.at),
                },
            }
        }
        try:
            self._transact(
                [
                    self._put(item, "attribute_not_exists(pk)"),
                    count,
                    self._put(_event_item(complaint_id, event), "attribute_not_exists(pk)"),
                    *(
                        self._put(
                            dynamo_value(
                                {
                                    **evidence_key(complaint_id, e.seq),
                                    "kind": "evidence",
                                    **e.model_dump(mode="json"),
                                }
                            ),
                            "attribute_not_exists(pk)",
                        )
                        for e in evidence or []
                    ),
                ]
            )
        except ConflictError:
            if self._exists(message_key(complaint_id, message.key)):
                return False
            raise
        return True

    def _exists(self, key: dict[str, str]) -> bool:
        with aws_errors():
            found = self._table.get_item(Key=key, ProjectionExpression="pk", ConsistentRead=True)
        return "Item" in found

    def messages(self, complaint_id: str) -> list[Message]:
        items = self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :message)",
            ExpressionAttributeValues={":pk": case_partition(complaint_id), ":message": MESSAGE_PREFIX},
            ConsistentRead=True,
        )
        return sorted((Message.model_validate(item) for item in items), key=lambda m: (m.at, m.key))

    def hold_mail(self, mail: HeldMail) -> bool:
        item = {
            **held_mail_key(mail.at, mail.key),
            "kind": "held_mail",
            **dynamo_value(mail.model_dump(mode="json", exclude_none=True)),
        }
        try:
            self._transact([self._put(item, "attribute_not_exists(pk)")])
        except ConflictError:
            return False
        return True

    def held_mail(self, limit: int) -> list[HeldMail]:
        with aws_errors():
            page = self._table.query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": HELD_PK},
                ScanIndexForward=False,
                Limit=limit,
                ConsistentRead=True,
            )
        return [HeldMail.model_validate(item) for item in page.get("Items", [])]

    def remember_sent_mail(self, mail_id: str, complaint_id: str) -> None:
        with aws_errors():
            self._table.put_item(
                Item={**sent_mail_key(mail_id), "kind": "sent_mail", "complaint_id": complaint_id}
            )

    def case_of_sent_mail(self, mail_id: str) -> str | None:
        if not mail_id:
            return None
        with aws_errors():
            found = self._table.get_item(Key=sent_mail_key(mail_id), ConsistentRead=True)
        return (found.get("Item") or {}).get("complaint_id")
