"""The moto internals the embedded stack relies on (infra/moto_hooks.py). If a moto upgrade breaks one,
this fails here, loudly, rather than `make run` failing quietly.

Over 400 lines: one test at least for each moto internal in infra/moto_hooks.py, in the same order."""

from __future__ import annotations

import copy
import dis
import inspect
import json
import threading
import time
import types
import uuid
from email.message import EmailMessage
from unittest import mock

import boto3
import moto.dynamodb.models as moto_dynamodb
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws, settings
from moto.core.config import default_user_config
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.api import TaskTimedOut
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackEndpoint,
    CallbackPoolManager,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from infra import moto_hooks
from infra.lambdas import HandlerError

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def moto(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_hooks.install()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def _function(name: str) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="x.handler", Code={"ZipFile": b"zip"}
    )


def test_lambda_invoke_runs_the_registered_handler(moto):
    _function("Echo")
    moto_hooks.register_function("Echo", lambda name, event: {"name": name, "got": event})

    answer = boto3.client("lambda", region_name=REGION).invoke(FunctionName="Echo", Payload=b'{"a": 1}')

    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"name": "Echo", "got": {"a": 1}}


def test_lambda_invoke_reports_a_handler_error_as_lambda_does(moto):
    _function("Broken")

    def broken(name, event):
        raise HandlerError("CaseNotFound", "CMP-1", [])

    moto_hooks.register_function("Broken", broken)
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:Broken"

    answer = boto3.client("lambda", region_name=REGION).invoke(FunctionName=arn, Payload=b"{}")

    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "CaseNotFound"


def test_dynamodb_writes_are_serialised(moto):
    for name in moto_hooks._WRITES:
        assert hasattr(getattr(DynamoDBBackend, name), "__wrapped__"), name
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client = boto3.client("dynamodb", region_name=REGION)
    wins: list[int] = []

    def claim(i: int) -> None:
        try:
            client.put_item(
                TableName="t", Item={"pk": {"S": "only-one"}}, ConditionExpression="attribute_not_exists(pk)"
            )
            wins.append(i)
        except client.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def _case_table(name: str) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan(name: str) -> list[dict]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=name, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _fails_unless(pk: str) -> dict:
    return {
        "ConditionCheck": {
            "TableName": "cases",
            "Key": _key(pk, "CASE"),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }


def _update_n(pk: str, value: str) -> dict:
    return {
        "Update": {
            "TableName": "cases",
            "Key": _key(pk, "CASE"),
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": value}},
        }
    }


def test_a_failed_transaction_condition_rolls_back_every_item(moto):
    _case_table("cases")
    _case_table("audit")
    client = boto3.client("dynamodb", region_name=REGION)
    client.put_item(TableName="cases", Item={**_key("CASE#a", "CASE"), "n": {"N": "1"}})
    client.put_item(TableName="cases", Item=_key("CASE#c", "CASE"))
    client.put_item(TableName="cases", Item=_key("CASE#d", "CASE"))
    before = _scan("cases")
    writes = [
        {"Put": {"TableName": "cases", "Item": _key("CASE#new", "CASE")}},  # a new partition
        _update_n("CASE#a", "2"),
        {"Put": {"TableName": "cases", "Item": _key("CASE#a", "EVT#1")}},  # the same partition
        {"Delete": {"TableName": "cases", "Key": _key("CASE#d", "CASE")}},
        {"Put": {"TableName": "audit", "Item": _key("AUDIT#a", "EVT#1")}},  # another table
    ]

    with pytest.raises(ClientError) as failed:
        client.transact_write_items(TransactItems=[*writes, _fails_unless("CASE#missing")])

    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in failed.value.response["CancellationReasons"]]
    assert reasons == ["None"] * len(writes) + ["ConditionalCheckFailed"]
    assert _scan("cases") == before
    assert _scan("audit") == []
    assert moto_dynamodb.copy is copy

    client.transact_write_items(TransactItems=[*writes, _fails_unless("CASE#c")])

    assert [(item["pk"]["S"], item["sk"]["S"]) for item in _scan("cases")] == [
        ("CASE#a", "CASE"),
        ("CASE#a", "EVT#1"),
        ("CASE#c", "CASE"),
        ("CASE#new", "CASE"),
    ]
    assert _scan("cases")[0]["n"] == {"N": "2"}
    assert len(_scan("audit")) == 1


def test_a_transaction_backs_up_only_the_partitions_it_writes(moto):
    # install() patched moto's transact_write_items (an AttributeError there if moto renamed it) ...
    _case_table("cases")
    backend = dynamodb_backends[ACCOUNT][REGION]
    for n in range(200):  # 50 other partitions of 4 items
        backend.put_item("cases", {**_key(f"CASE#{n // 4}", f"EVT#{n % 4}"), "n": {"N": str(n)}})
    backend.put_item("cases", {**_key("CASE#a", "CASE"), "n": {"N": "1"}})
    client = boto3.client("dynamodb", region_name=REGION)
    written = DynamoType({"S": "CASE#a"})

    def fail_on_partition_a(table: Table) -> tuple[Table, dict]:
        others = {key: partition for key, partition in table.items.items() if key != written}
        assert len(others) == 50
        with pytest.raises(ClientError):
            # CASE#b does not exist (the others are CASE#0..CASE#49): the update is rolled back.
            client.transact_write_items(TransactItems=[_update_n("CASE#a", "2"), _fails_unless("CASE#b")])
        restored = backend.tables["cases"]
        # ... moto still backs the table up with copy.deepcopy and puts the backup in its place ...
        assert restored is not table, "moto no longer restores a backup: is the hook still needed?"
        assert restored.items[written] is not table.items[written]
        assert restored.items[written][DynamoType({"S": "CASE"})].attrs["n"] == DynamoType({"N": "1"})
        return restored, others

    restored, others = fail_on_partition_a(backend.tables["cases"])
    # ... and the backup shared the partitions the transaction did not write: none was deep-copied.
    assert all(restored.items[key] is partition for key, partition in others.items())

    with moto_hooks.full_transaction_backups():
        restored, others = fail_on_partition_a(restored)
    # Switched off: moto's own backup, a deep copy of every partition.
    assert not any(restored.items[key] is partition for key, partition in others.items())
    assert all(restored.items[key] == partition for key, partition in others.items())

    restored, others = fail_on_partition_a(restored)
    assert all(restored.items[key] is partition for key, partition in others.items())


def test_transaction_backups_are_made_under_the_write_lock(moto, monkeypatch):
    wrappers = []
    method = DynamoDBBackend.transact_write_items
    while hasattr(method, "__wrapped__"):
        wrappers.append(method.__code__.co_qualname)  # functools.wraps copies __qualname__, not this
        method = method.__wrapped__
    # The lock outside, the swap of moto's `copy` inside it, moto's method last.
    assert wrappers == ["_synced.<locals>.wrapper", "_scoped.<locals>.wrapper"]
    assert method.__code__.co_qualname == "DynamoDBBackend.transact_write_items"
    seen = []
    real_deepcopy = moto_hooks._ScopedCopy.deepcopy

    def deepcopy(self, value, memo=None):
        if isinstance(value, Table):
            held = []

            def other_thread() -> None:
                got = moto_hooks._data_lock.acquire(blocking=False)
                if got:
                    moto_hooks._data_lock.release()
                held.append(not got)

            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
            seen.append({"copy swapped": moto_dynamodb.copy is self, "lock held": held[0]})
        return real_deepcopy(self, value, memo)

    monkeypatch.setattr(moto_hooks._ScopedCopy, "deepcopy", deepcopy)
    _case_table("cases")
    client = boto3.client("dynamodb", region_name=REGION)

    client.transact_write_items(TransactItems=[_update_n("CASE#a", "1"), _update_n("CASE#b", "1")])

    assert seen == [{"copy swapped": True, "lock held": True}] * 2  # one backup per item
    assert moto_dynamodb.copy is copy


def _module_globals_read(code: types.CodeType) -> set[str]:
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _module_globals_read(const)
    return names


def test_only_locked_dynamodb_writes_read_the_copy_that_transactions_swap():
    """moto.dynamodb.models' `copy` is replaced while a transaction runs, under the write lock; a method
    that read it without that lock (a read on another thread) could see the replacement."""
    readers = set()
    for name, value in vars(moto_dynamodb).items():
        functions = vars(value).items() if inspect.isclass(value) else [(name, value)]
        for attr, function in functions:
            function = getattr(function, "fget", function)  # a property
            function = inspect.unwrap(getattr(function, "__func__", function))  # a static or class method
            if (
                isinstance(function, types.FunctionType)
                and function.__module__ == moto_dynamodb.__name__
                and "copy" in _module_globals_read(function.__code__)
            ):
                readers.add(attr)
    assert "transact_write_items" in readers
    assert readers <= set(moto_hooks._WRITES)


def test_sent_raw_email_is_readable_for_the_mailbox(moto):
    ses = boto3.client("sesv2", region_name=REGION)
    ses.create_email_identity(EmailIdentity="from@example.com")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "from@example.com", "to@example.com", "Hello"
    message.set_content("plain")
    message.add_alternative('<a href="https://x.example/y">y</a>', subtype="html")

    ses.send_email(FromEmailAddress="from@example.com", Content={"Raw": {"Data": message.as_bytes()}})

    from infra import mailbox

    (sent,) = mailbox.messages("123456789012", REGION)
    assert sent["to"] == ["to@example.com"]
    assert sent["subject"] == "Hello"
    assert sent["links"] == ["https://x.example/y"]


def test_the_settings_the_stack_turns_on_still_exist(monkeypatch):
    assert "use_docker" in default_user_config["lambda"]
    assert "execute_state_machine" in default_user_config["stepfunctions"]
    monkeypatch.setenv("MOTO_PORT", "5123")
    assert settings.moto_server_port() == "5123" or settings.moto_server_port() == 5123


def _table_with_partitions(partitions: int, per_partition: int):
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName="Parts",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    with table.batch_writer() as batch:
        for p in range(partitions):
            for n in range(per_partition):
                batch.put_item(Item={"pk": f"P{p}", "sk": f"S{n:03d}", "g": "all", "n": n})
    return table


def _spy_on_all_items(monkeypatch) -> list[list]:
    """What moto's Table.all_items (as the hooks narrow it) hands each query, call by call."""
    seen: list[list] = []
    scoped_all_items = Table.all_items

    def spy(self):
        items = scoped_all_items(self)
        seen.append(items)
        return items

    monkeypatch.setattr(Table, "all_items", spy)
    return seen


def test_a_query_on_the_table_key_reads_its_partition_only_with_the_same_answers(moto, monkeypatch):
    table = _table_with_partitions(partitions=20, per_partition=7)
    seen = _spy_on_all_items(monkeypatch)

    # Newest first, two at a time: pagination and order as DynamoDB gives them.
    pages, kwargs = [], {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": "P3"}}
    kwargs |= {"ScanIndexForward": False, "Limit": 2}
    while True:
        page = table.query(**kwargs)
        pages.append([item["sk"] for item in page["Items"]])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert [sk for page in pages for sk in page] == [f"S{n:03d}" for n in reversed(range(7))]
    ranged = table.query(
        KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": "P5", ":a": "S002", ":b": "S004"},
    )
    assert [item["sk"] for item in ranged["Items"]] == ["S002", "S003", "S004"]
    assert (
        table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "NONE"})["Items"] == []
    )

    # moto's query goes through all_items, which the hook narrowed to the partition asked for.
    assert seen, "moto's Table.query no longer calls all_items: re-check moto_hooks (5)"
    assert {len(items) for items in seen} <= {7, 3, 0}
    assert all({item.hash_key.value for item in items} <= {"P3", "P5"} for items in seen)


def test_index_queries_and_scans_still_see_every_partition(moto):
    table = _table_with_partitions(partitions=5, per_partition=3)
    everything = table.query(
        IndexName="ByG", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": "all"}
    )
    assert len(everything["Items"]) == 15
    assert table.scan()["Count"] == 15
    assert getattr(Table.query, "partition_scoped", False), "moto_hooks (5) is not installed on Table.query"


def test_the_moto_internals_that_close_task_tokens_are_still_there():
    """moto_hooks (6); tests/integration/test_task_tokens.py runs it against real executions."""
    moto_hooks.install()
    hook = "moto_hooks (6) closes task tokens through it"
    for name in moto_hooks._SENDS:
        send = getattr(StepFunctionsParserBackend, name)
        assert getattr(send, "closes_tokens", False), (
            f"StepFunctionsParserBackend.{name} is not wrapped: {hook}"
        )
        params = list(inspect.signature(inspect.unwrap(send)).parameters)
        assert params[:2] == ["self", "task_token"], (
            f"moto's StepFunctionsParserBackend.{name}{params}: {hook}"
        )
    assert callable(getattr(StepFunctionsParserBackend, "_get_executions", None)), (
        f"moto's StepFunctionsParserBackend._get_executions is gone: {hook}"
    )
    assert "exec_worker" in inspect.get_annotations(Execution), (
        f"moto's Execution.exec_worker is gone: {hook}"
    )
    assert "callback_pool_manager" in inspect.get_annotations(Environment), (
        f"moto's Environment.callback_pool_manager is gone: {hook}"
    )
    assert callable(getattr(Environment, "is_running", None)), (
        f"moto's Environment.is_running is gone: {hook}"
    )

    eval_body = callback_task.StateTaskServiceCallback._eval_body
    assert getattr(eval_body, "closes_tokens", False), (
        f"StateTaskServiceCallback._eval_body is not wrapped: {hook}"
    )
    assert "callback_pool_manager.add(" in inspect.getsource(inspect.unwrap(eval_body)), (
        f"moto's StateTaskServiceCallback._eval_body opens no token with CallbackPoolManager.add: {hook}"
    )
    assert hasattr(CallbackPoolManager.add, "__wrapped__"), f"CallbackPoolManager.add is not wrapped: {hook}"
    assert callable(getattr(CallbackPoolManager, "get", None)), (
        f"moto's CallbackPoolManager.get is gone: {hook}"
    )

    endpoint = CallbackEndpoint(callback_id="token")
    assert endpoint.consumer_error is None, f"moto's CallbackEndpoint.consumer_error is gone: {hook}"
    assert endpoint.get_outcome() is None, f"moto's CallbackEndpoint.get_outcome changed: {hook}"
    endpoint.report(CallbackConsumerTimeout())
    assert isinstance(endpoint.consumer_error, CallbackConsumerTimeout), (
        f"moto's CallbackEndpoint.report: {hook}"
    )

    timed_out = TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut")
    assert (timed_out.error_type, timed_out.code) == ("TaskTimedOut", 400), (
        f"moto's stepfunctions TaskTimedOut no longer takes (message, code): {hook}"
    )


def _run_to_the_end(definition: dict, execution_input: dict) -> tuple[str, list[dict]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 10
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.05)
    return status, sfn.get_execution_history(executionArn=arn)["events"]


def test_states_all_does_not_catch_a_missing_path_as_on_aws(moto):
    """(8) On AWS a missing JSONPath is States.Runtime, which no Catch of States.ALL takes: the execution
    fails. moto caught it; the hook makes it fail, and leaves other errors to States.ALL."""
    _function("Echo")
    moto_hooks.register_function("Echo", lambda name, event: event)
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "Echo", "Payload": {"seconds.$": "$.clocks.reminderSeconds"}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    with mock.patch.dict(default_user_config["stepfunctions"], {"execute_state_machine": True}):
        status, history = _run_to_the_end(definition, {"complaintId": "CMP-1"})
        assert status == "FAILED"
        failed = next(e for e in history if e["type"] == "ExecutionFailed")["executionFailedEventDetails"]
        assert failed["error"] == "States.Runtime"
        assert not any(e.get("stateEnteredEventDetails", {}).get("name") == "Caught" for e in history)

        # Any other error is still States.ALL's: the task's own failure is caught.
        moto_hooks.register_function(
            "Echo", lambda name, event: (_ for _ in ()).throw(HandlerError("Boom", "x", []))
        )
        status, history = _run_to_the_end(definition, {"clocks": {"reminderSeconds": 5}})
        assert status == "SUCCEEDED"
    assert getattr(ErrorEqualsDecl._eval_body, "spares_terminal_errors", False), "hook (8) not installed"


def test_the_moto_internals_that_enforce_the_roles_are_still_there():
    """(7) wraps moto's per-request authorization; fail loudly if an upgrade moves what it relies on."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.responses import BaseResponse
    from moto.iam.access_control import AssumedRoleAccessKey, IAMRequest

    moto_hooks.install()
    assert getattr(ActionAuthenticatorMixin._authenticate_and_authorize_action, "enforces_roles", False)
    assert "_authenticate_and_authorize_normal_action" in BaseResponse.call_action.__code__.co_names, (
        "moto's BaseResponse.call_action no longer authorizes each request"
    )
    assert callable(AssumedRoleAccessKey.collect_policies), "moto's assumed-role policy collection moved"
    for name in ("check_signature", "_raise_access_denied"):
        assert callable(getattr(IAMRequest, name, None)), f"moto's IAMRequest.{name} moved"


def _by_g_items(table) -> list:
    return table.scan(ConsistentRead=True)["Items"]


def _index_answers(table, g: str, limit: int | None = None) -> list[tuple[str, str]]:
    kwargs: dict = {
        "IndexName": "ByG",
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": g},
    }
    if limit:
        kwargs["Limit"] = limit
    found = []
    while True:
        page = table.query(**kwargs)
        found += [(item["pk"], item["sk"]) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            assert len(set(found)) == len(found), "paging gave an item twice"
            return sorted(found)  # an index without a sort key keeps no order among its items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _expected(table, g: str) -> list[tuple[str, str]]:
    """What the index holds under g, from a scan (which walks every item)."""
    return sorted((item["pk"], item["sk"]) for item in _by_g_items(table) if item.get("g") == g)


def test_an_index_query_reads_only_its_hash_key_with_the_same_answers_after_every_kind_of_write(
    moto, monkeypatch
):
    table = _table_with_partitions(partitions=12, per_partition=4)
    client = boto3.client("dynamodb", region_name=REGION)
    for p in range(12):  # spread the items over 4 index keys
        for n in range(4):
            table.update_item(
                Key={"pk": f"P{p}", "sk": f"S{n:03d}"},
                UpdateExpression="SET g = :g",
                ExpressionAttributeValues={":g": f"g{(p + n) % 4}"},
            )
    seen = _spy_on_all_items(monkeypatch)

    def check() -> None:
        for g in ("g0", "g1", "g2", "g3", "g9"):
            expected = _expected(table, g)
            seen.clear()
            assert _index_answers(table, g) == expected
            assert _index_answers(table, g, limit=3) == expected  # paged the same
            assert seen, "moto's Table.query no longer calls all_items: re-check moto_hooks (5)"
            read = [item for items in seen for item in items]
            assert {item.attrs["g"].value for item in read} <= {g}, "an index query walked other keys"

    check()
    table.put_item(Item={"pk": "NEW", "sk": "S000", "g": "g2"})  # a new item
    table.update_item(  # an item moves from one index key to another
        Key={"pk": "P0", "sk": "S000"}, UpdateExpression="SET g = :g", ExpressionAttributeValues={":g": "g3"}
    )
    table.update_item(Key={"pk": "P1", "sk": "S001"}, UpdateExpression="REMOVE g")  # leaves the index
    table.delete_item(Key={"pk": "P2", "sk": "S002"})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "Parts", "Item": {"pk": {"S": "T1"}, "sk": {"S": "S"}, "g": {"S": "g1"}}}},
            {"Delete": {"TableName": "Parts", "Key": {"pk": {"S": "P3"}, "sk": {"S": "S000"}}}},
        ]
    )
    check()
    # A transaction that moves an item, then fails on its condition, is rolled back: the index too.
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "Parts",
                        "Key": {"pk": {"S": "P4"}, "sk": {"S": "S000"}},
                        "UpdateExpression": "SET g = :g",
                        "ExpressionAttributeValues": {":g": {"S": "moved"}},
                    }
                },
                {
                    "Put": {
                        "TableName": "Parts",
                        "Item": {"pk": {"S": "T1"}, "sk": {"S": "S"}, "g": {"S": "g0"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    check()
    assert _index_answers(table, "moved") == []
    # Batch writes, as boto3's batch_writer sends them.
    with table.batch_writer() as batch:
        batch.put_item(Item={"pk": "B", "sk": "S", "g": "g0"})
        batch.delete_item(Key={"pk": "P5", "sk": "S001"})
    check()


def test_an_index_query_sees_a_table_made_again_under_the_same_name(moto):
    table = _table_with_partitions(partitions=3, per_partition=2)
    assert len(_index_answers(table, "all")) == 6
    table.delete()
    table = _table_with_partitions(partitions=1, per_partition=2)
    assert _index_answers(table, "all") == [("P0", "S000"), ("P0", "S001")]


def test_a_dynamodb_read_waits_while_a_write_holds_the_lock(moto):
    """A Query or a Scan walks moto's dicts: a write on another thread meanwhile crashed it ("dictionary
    changed size during iteration"). Reads are served under the same lock as writes."""
    table = _table_with_partitions(partitions=2, per_partition=2)
    done = threading.Event()

    def read() -> None:
        table.query(IndexName="ByG", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": "all"})
        table.scan()
        done.set()

    with moto_hooks._data_lock:
        reader = threading.Thread(target=read)
        reader.start()
        assert not done.wait(0.3), "a read ran while another thread held the DynamoDB lock"
    assert done.wait(10)
    reader.join()


def test_the_server_lists_motos_services_once(moto, monkeypatch):
    """moto_hooks (10): every request of the server asked for this list, under a lock, from the disk."""
    import moto.backends as moto_backends

    assert getattr(moto_backends.list_of_moto_modules, "listed_once", False), "moto_hooks (10) not installed"
    listed = list(moto_backends.list_of_moto_modules())
    assert {"dynamodb", "stepfunctions", "sesv2", "awslambda"} <= set(listed)

    def no_disk(*_args, **_kwargs):
        raise AssertionError("the list of moto's services was read from the disk again")

    monkeypatch.setattr("os.listdir", no_disk)
    monkeypatch.setattr("os.path.isdir", no_disk)
    assert list(moto_backends.list_of_moto_modules()) == listed
    # The server still finds the service of a request through it.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    assert app.get_backend_for_host("dynamodb") == "dynamodb"


def test_a_dynamodb_fault_answers_as_dynamodb_does_and_only_whom_it_is_aimed_at(moto):
    """moto_hooks (9): DynamoDB requests fail on demand, aimed at one function's calls or at anyone's."""
    for method in moto_hooks._DYNAMODB_REQUESTS.values():
        assert getattr(getattr(DynamoHandler, method), "faulty", False), f"DynamoHandler.{method} not wrapped"
    table = _table_with_partitions(partitions=1, per_partition=1)
    client = boto3.client("dynamodb", region_name=REGION)
    put = {"Put": {"TableName": "Parts", "Item": {"pk": {"S": "X"}, "sk": {"S": "Y"}}}}
    try:
        # Aimed at a function: these calls (signed by nobody's function) go through.
        moto_hooks.inject_fault(
            "TransactWriteItems", "TransactionConflict", count=1, function="TriageFunction"
        )
        client.transact_write_items(TransactItems=[put])
        moto_hooks.clear_faults()

        moto_hooks.inject_fault("TransactWriteItems", "TransactionConflict", count=1)
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(TransactItems=[put, put])
        assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
        assert reasons == ["TransactionConflict", "TransactionConflict"]

        moto_hooks.inject_fault("GetItem", "ThrottlingException", count=1, after=1)
        table.get_item(Key={"pk": "P0", "sk": "S000"})  # the one let through
        with pytest.raises(ClientError, match="ThrottlingException"):
            boto3.client(
                "dynamodb", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
            ).get_item(TableName="Parts", Key={"pk": {"S": "P0"}, "sk": {"S": "S000"}})
        assert table.get_item(Key={"pk": "P0", "sk": "S000"})["Item"]["n"] == 0  # the fault is spent

        with pytest.raises(ValueError, match="cannot be aimed"):
            moto_hooks.inject_fault("SendEmail", "TooManyRequestsException", function="TriageFunction")
    finally:
        moto_hooks.clear_faults()


def test_a_receipt_rule_may_invoke_a_function_of_the_stack_and_not_an_unknown_one(moto):
    """(12) With Lambda run without docker, CreateReceiptRule finds the stack's functions; a function that
    does not exist is still refused."""
    _function("EmailIntake")
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="inbound")
    ses = boto3.client("ses", region_name=REGION)
    ses.create_receipt_rule_set(RuleSetName="set")

    def rule(name: str, function: str) -> dict:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        return {
            "Name": name,
            "Enabled": True,
            "Recipients": ["example.com"],
            "Actions": [
                {"S3Action": {"BucketName": "inbound", "ObjectKeyPrefix": "inbound/"}},
                {"LambdaAction": {"FunctionArn": arn, "InvocationType": "Event"}},
            ],
        }

    ses.create_receipt_rule(RuleSetName="set", Rule=rule("ours", "EmailIntake"))
    with pytest.raises(ClientError, match="InvalidLambdaFunction"):
        ses.create_receipt_rule(RuleSetName="set", Rule=rule("other", "NoSuchFunction"))
    names = [r["Name"] for r in ses.describe_receipt_rule_set(RuleSetName="set")["Rules"]]
    assert names == ["ours"]


def test_the_moto_internals_that_check_browser_uploads_are_still_there(moto):
    """(13) The form's fields and the file's bytes are where the hook reads them, and a POST without a
    policy still goes to moto (tests/integration/test_uploads.py drives the policy checks)."""
    from moto.iam.access_control import AssumedRoleAccessKey
    from moto.s3.responses import S3Response

    assert getattr(S3Response._bucket_response_post, "checks_post_policy", False)
    for name in ("create_credentials", "collect_policies"):
        assert callable(getattr(AssumedRoleAccessKey, name))
    source = inspect.getsource(S3Response._bucket_response_post.__wrapped__)
    assert "success_action_status" in source and "put_object" in source
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="plain")
    import requests

    answer = requests.post(
        "https://plain.s3.amazonaws.com/", data={"key": "k"}, files={"file": ("f", b"bytes")}, timeout=10
    )
    assert int(answer.status_code) == 204
    assert s3.get_object(Bucket="plain", Key="k")["Body"].read() == b"bytes"
