"""How the DynamoDB adapter turns AWS's answers into the domain's errors, so that a workflow step meeting a
passing condition (another writer, throttling) is retried by the state machine (TransientError, matched by
name) and only a real conflict or fault is not. The client is a stand-in that answers as DynamoDB does."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import ComplaintsError, ConflictError, TransientError
from complaints.core.models import CaseEvent

EVENT = CaseEvent(at=datetime(2026, 3, 5, 12, tzinfo=UTC), type="REMINDER_SENT", params={"assignee": "x"})
LINK = {"pk": "LINK#l1", "sk": "LINK", "link_id": "l1", "complaint_id": "CMP-20260305-ABCDEF"}


class Dynamo:
    """A low-level DynamoDB client whose writes fail with `code` (and the cancellation reasons given)."""

    def __init__(self, code: str, reasons: list[str] | None = None):
        self.code, self.reasons = code, reasons

    def _fail(self, operation: str) -> None:
        response: dict = {"Error": {"Code": self.code, "Message": "as DynamoDB says"}}
        if self.reasons is not None:
            response["CancellationReasons"] = [{"Code": code} for code in self.reasons]
        raise ClientError(response, operation)

    def transact_write_items(self, **_):
        self._fail("TransactWriteItems")


class Table:
    """The boto3 Table resource the repository reads through; its writes go to `Dynamo`."""

    name = "CasesTable"

    def __init__(self, client: Dynamo):
        self.meta = SimpleNamespace(client=client)
        self._client = client

    def get_item(self, **_):
        return {
            "Item": {
                **LINK,
                "kind": "investigate",
                "level": "investigator",
                "recipient_id": "p1",
                "recipient_name": "A",
                "recipient_email": "a@example.com",
                "token": "t",
                "created_at": "2026-03-05T12:00:00+00:00",
                "expires_at": "2026-03-05T13:00:00+00:00",
                "kept": True,
            }
        }

    def update_item(self, **_):
        self._client._fail("UpdateItem")


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["None", "TransactionConflict"], TransientError),  # another writer on one of its items
        (["ThrottlingError", "None"], TransientError),
        (["ProvisionedThroughputExceeded"], TransientError),
        (["ConditionalCheckFailed", "None"], ConflictError),  # a real conflict: the case changed
        (["ValidationError"], ComplaintsError),  # a fault: not retried into the same answer
    ],
)
def test_a_cancelled_transaction_in_a_workflow_step(reasons, expected):
    repository = DynamoInvestigationRepository(Table(Dynamo("TransactionCanceledException", reasons)))

    with pytest.raises(expected) as raised:
        repository.rebind_link("l1", "t2", datetime(2026, 3, 5, 13, tzinfo=UTC), EVENT)
    if expected is ComplaintsError:
        assert not isinstance(raised.value, TransientError | ConflictError)


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["None", "TransactionConflict"], TransientError),
        (["ThrottlingError", "None"], TransientError),
        (["ConditionalCheckFailed", "None"], False),  # made before: nothing to do
        (["ValidationError", "None"], ComplaintsError),
    ],
)
@pytest.mark.parametrize("mark", ["mark_acknowledged", "mark_started"])
def test_a_cancelled_update_and_its_event_in_a_workflow_step(reasons, expected, mark):
    """One conditional update with its timeline event (acknowledged, started, ...): the acknowledgement step
    met a conflict here and its case went NEEDS_ATTENTION ("ComplaintsError") instead of being retried."""
    repository = DynamoInvestigationRepository(Table(Dynamo("TransactionCanceledException", reasons)))
    args = ("CMP-20260305-ABCDEF", EVENT) if mark == "mark_acknowledged" else ("CMP-x", "arn", EVENT)

    if expected is False:
        assert getattr(repository, mark)(*args) is False
        return
    with pytest.raises(expected) as raised:
        getattr(repository, mark)(*args)
    if expected is ComplaintsError:
        assert not isinstance(raised.value, TransientError | ConflictError)


@pytest.mark.parametrize(
    "code",
    [
        "TransactionConflictException",  # a single write meeting a transaction on its item
        "TransactionInProgressException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
    ],
)
def test_a_single_write_that_meets_a_passing_condition_is_transient(code):
    repository = DynamoInvestigationRepository(Table(Dynamo(code)))

    with pytest.raises(TransientError):
        repository.keep_answer("l1")
