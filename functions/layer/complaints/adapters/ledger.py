"""The ledger adapter: a remedy paid through the payment system's ledger, once per remedy id (locally a
DynamoDB table plays the ledger)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.adapters.dynamo.keys import ledger_key
from complaints.core.errors import LedgerUnavailable


class LedgerTableAdapter:
    """The local payment system: a ledger table, idempotent by complaint and remedy id. A real payment
    system plugs in behind the same interface."""

    def __init__(self, table: Any):
        self._table = table

    def pay(self, complaint_id: str, remedy_id: str, remedy: str, amount: Decimal, currency: str) -> str:
        key = ledger_key(complaint_id, remedy_id)
        reference = f"PAY-{remedy_id}"
        try:
            self._table.put_item(
                Item={
                    **key,
                    "reference": reference,
                    "remedy": remedy,
                    "amount": amount,
                    "currency": currency,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return self._table.get_item(Key=key, ConsistentRead=True)["Item"]["reference"]
            raise LedgerUnavailable(error.response.get("Error", {}).get("Code", "ClientError")) from error
        except BotoCoreError as error:
            raise LedgerUnavailable(type(error).__name__) from error
        return reference
