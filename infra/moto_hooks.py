"""Every place the embedded stack relies on moto internals, in one module.

tests/integration/test_moto_hooks.py exercises each of them, so a moto upgrade that breaks one fails
loudly there instead of quietly in `make run`.

1. Lambda invoke: with `{"lambda": {"use_docker": False}}` moto answers Invoke from
   `LambdaSimpleBackend.invoke`; we route that call to the project's handler, in-process.
2. DynamoDB requests are handled one at a time, under one lock: DynamoDB is linearizable per item, moto's
   threaded server is not, and intake's exactly-once under concurrent duplicates depends on that
   guarantee. Writes (`DynamoDBBackend.put_item` …, also when called straight on the backend) and whole
   requests (`DynamoHandler.call_action`: the backend call and the serialization of its answer) take it.
   Reads need it too: moto walks `Table.items` and each item's attributes while answering a Query or a
   Scan and while serializing, and a write on another thread that adds an item or an attribute meanwhile
   crashed the read with "RuntimeError: dictionary changed size during iteration" (a burst of 200
   complaints, one Query in several hundred).
3. DynamoDB TransactWriteItems backs up only the partitions it writes: moto's
   `DynamoDBBackend.transact_write_items` backs a table up with `copy.deepcopy` of the whole table,
   once per item, so the local stack slows down as the table grows (DynamoDB does not). While it runs,
   the `copy` that `moto.dynamodb.models` sees is `_ScopedCopy`: the backup shares the partitions the
   transaction does not write and deep-copies those it does, so a failed condition rolls back the same.
   The swap of that module global happens under the write lock of (2); `full_transaction_backups()`
   switches the scoping off for a while (the bench's comparison).
4. The mailbox reads the messages SES "sent" from the SES backend.
5. A DynamoDB Query on a table's own key reads just its partition: moto's `Table.query` takes every
   item of the table (`Table.all_items`, which also sorts them all) and keeps those with the hash key,
   so every `get()` of a case costs time in proportion to the table. While such a query runs on this
   thread, `all_items` of that table returns the partition's items only (sorted the same way).
   A Query on a global or local secondary index does the same walk (moto keeps no index): every
   customer-history, work-queue or watch-list read cost time in proportion to the whole table. The
   hooks keep, per table, each index's entries (the index's hash key value -> the primary keys of the
   items that carry it), built from the table on first use and brought up to date for the keys each
   write names (put, update, delete, each item of a transaction, after a rolled-back transaction too);
   while an index query runs, `all_items` returns just the items under the hash key value asked for.
   moto then applies its own range, filter, sort and paging to them, as before. An index whose key has
   several hash attributes, and a table whose index set changed, fall back to the walk (rebuilt).
6. A Step Functions task token closes as on AWS. moto's ASL interpreter (LocalStack's) keeps the
   `CallbackEndpoint` of every `.waitForTaskToken` task in its execution's `CallbackPoolManager` for good:
   SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat for a task that timed out, was answered already or
   whose execution is over get HTTP 200 and what they carry is dropped (SendTaskSuccess after the execution
   ended gets InvalidToken). AWS answers TaskTimedOut, HTTP 400, "Task Timed Out: 'Provided task does not
   exist anymore'", in all of these cases. moto has the pieces (`CallbackEndpoint.report` marks an endpoint
   whose consumer is gone, and `CallbackPoolManager.notify` refuses a marked one) but nothing calls `report`,
   and its `send_task_*` would raise its `TaskTimedOut` without the arguments that class needs. So:
   - while `StateTaskServiceCallback._eval_body` runs (one callback Task state, its Retry and Catch
     included), the endpoints `CallbackPoolManager.add` opens on that thread are noted; when it returns or
     raises, each is marked with `report`: `CallbackConsumerTimeout` if no answer came, else
     `CallbackConsumerLeft`. An answer moto accepts marks its endpoint at once.
   - `StepFunctionsParserBackend.send_task_success`, `send_task_failure` and `send_task_heartbeat` first find
     the token in the backend's executions (`_get_executions()`, each one's `exec_worker.env`, its
     `callback_pool_manager.get`): a marked endpoint, or an execution whose program no longer runs
     (`env.is_running()`: StopExecution changes it at once, the execution's status only once its thread
     ends), gets TaskTimedOut. A token no execution issued (moto's InvalidToken) and a live one go to moto.
   moto issues one token per Task state, not one per Retry attempt: it stays open through the retries.
7. Each function's execution role is enforced, as IAM does on AWS: a request signed with the credentials
   of a function (STS AssumeRole of its role, registered with `register_function_credentials`) is checked
   against that role's policies, and fails with AccessDeniedException when they do not allow it. moto's
   own check (`ActionAuthenticatorMixin._authenticate_and_authorize_action`) is all-or-nothing for the
   whole server and checks every request against "*"; ours wraps it: only the functions' credentials are
   checked (people, tests and the AWS CLI keep "any credentials"), each against the actions and resource
   ARNs IAM evaluates (infra/authorization.py), with moto's signature check, its policy collection for an
   assumed role and its policy evaluation (`IAMPolicy`). A presigned S3 URL a function signed (a download
   link; its key in the query's X-Amz-Credential) is authorized the same way, and refused after its
   X-Amz-Expires as S3 refuses it. Every check is recorded (`recorded_checks`,
   `record_to`).
8. `States.ALL` does not catch or retry `States.Runtime` (nor `States.DataLimitExceeded`), as on AWS: an
   execution that reads a path its input does not have fails outright there, whatever its Catch says.
   moto's `ErrorEqualsDecl._eval_body` matches States.ALL against every error; ours answers "no match" for
   those two, so a missing path fails the execution locally too, instead of being caught into a tidy
   NEEDS_ATTENTION that AWS would never reach.
9. Faults on demand (`inject_fault`): the next N calls of an operation fail with the AWS error given,
   before moto sees them: a test (or `POST /_local/faults` on the embedded stack) makes SendTaskSuccess
   throttle, or answer TaskTimedOut as if the wait had just ended, or SES v2 SendEmail answer its rate
   limit, or a DynamoDB request (TransactWriteItems, UpdateItem, PutItem, GetItem, Query) throttle, fail
   with a 500 or be cancelled by a conflicting transaction, exactly when it wants; a DynamoDB fault can
   be aimed at one function's calls (the credentials that signed the request say whose: (7)). Wraps
   `StepFunctionsParserBackend.send_task_success` (after (6), so an injected fault leaves the token
   live), `SESV2Backend.send_email`/`send_raw_email` and `DynamoHandler`'s request methods.
10. moto's server finds the service of every request under one lock
   (`DomainDispatcherApplication.get_application`), and there `backends.list_of_moto_modules()` lists
   moto's package directory and stats each of its ~160 entries, on every request. Each stat lets go of the
   GIL; with many requests in flight the thread holding the lock waits for the GIL again at every one, so
   requests queue behind that lock for seconds (a burst of 40 complaints: intake p50 over 10 s). The
   directory does not change while the server runs: it is listed once.
11. A state machine's definition is parsed once, not once per execution. moto's
   `ExecutionWorker._get_evaluation_entrypoint` runs the ANTLR parser over the whole definition (48 kB of
   ASL) for every StartExecution: 0.15-0.3 s of CPU each, the largest single cost of a complaint's
   workflow on the stack. The program it builds is kept per definition text, untouched, and each
   execution gets a deep copy of it (~0.01 s): what a fresh parse gives, nothing shared between
   executions.
12. An SES receipt rule may name a function of the stack in its Lambda action. moto's
   `SESBackend._validate_lambda_action` looks the function up in the Lambda backend (`lambda_backends`), but
   with `{"lambda": {"use_docker": False}}` (1) the functions live in `lambda_simple_backends`, so
   CreateReceiptRule refused every function the stack made ("Invalid Lambda function"). The function is
   looked up there too; a name no backend knows is still refused, as on AWS.
13. A browser-based upload to S3 (a form POST with a policy: "presigned POST") is checked as S3 checks it.
   moto's `S3Response._bucket_response_post` stores whatever is posted: an expired policy, a file over its
   content-length-range, a Content-Type or key the policy does not allow all went through. Before it, the
   form (`form_data`, the file's bytes in `raw_body`) is checked by infra/post_policy.py: expiry, the
   signature (with the secret key of the credential the form names, when it is a function's: STS's
   `assumed_roles`, through moto's `AssumedRoleAccessKey`), every condition, no field left out of the
   policy; and the upload is authorized as s3:PutObject of the function that signed it, against its role
   (as in 7, and recorded the same way). A POST without a policy goes to moto as before. moto answers a
   form's `success_action_status` with that field's text as the status ("201"), which an HTTP client in
   mock mode then sees as a string: it is made the number it is.

Over 400 lines: every moto internal the stack relies on is kept in this one module on purpose, so that an
upgrade has one place to look (DEVELOPERS.md)."""

from __future__ import annotations

import copy
import functools
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import moto.backends as moto_backends
import moto.dynamodb.models as moto_dynamodb
from moto.awslambda_simple.models import LambdaSimpleBackend, lambda_simple_backends
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import AssumedRoleAccessKey, IAMPolicy, PermissionResult
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.responses import S3Response
from moto.secretsmanager.models import secretsmanager_backends
from moto.ses.models import RawMessage, SESBackend, ses_backends
from moto.sesv2.models import SESV2Backend
from moto.stepfunctions.parser.api import TaskTimedOut
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerLeft,
    CallbackConsumerTimeout,
    CallbackEndpoint,
    CallbackPoolManager,
)
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from infra import authorization, post_policy
from infra.lambdas import HandlerError

Invoker = Callable[[str, Any], Any]
_invokers: dict[str, Invoker] = {}
_installed = False
_data_lock = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_scoped_backups = True  # read and changed under _data_lock


def register_function(name: str, invoke: Invoker) -> None:
    """Route moto Lambda invocations of function `name` to `invoke(name, event)`."""
    _invokers[name] = invoke


def _function_name(name_or_arn: str) -> str:
    return name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]


def _simple_invoke(self, function_name, qualifier, body, headers, response_headers):
    name = _function_name(function_name)
    invoke = _invokers.get(name)
    if invoke is None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {"errorType": "ResourceNotFound", "errorMessage": f"no handler for {name}"}
        ).encode()
    event = json.loads(body) if body else {}
    try:
        result = invoke(name, event)
    except HandlerError as error:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(error.payload).encode()
    return json.dumps(result).encode()


def _atomic(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _data_lock:
            return method(*args, **kwargs)

    return wrapper


class _ScopedCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models during one TransactWriteItems: a
    table's backup is a shallow copy of the table whose `items` is a new dict of the same partitions,
    except the partitions the transaction writes, which are deep copies. The transaction changes only
    those, so the rollback (moto puts the backup in the table's place) is the same as with a deep copy of
    everything. A table with a stream gets the real deep copy (its shard records the writes and would be
    shared otherwise); so does anything that is not a table."""

    def __init__(self, touched: dict[str, set[DynamoType]]):
        self._touched = touched
        self._backups: dict[int, Table] = {}  # moto backs a table up once per item; before any is written

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if not isinstance(value, Table) or value.stream_shard is not None or value.name not in self._touched:
            return copy.deepcopy(value, memo)
        if id(value) in self._backups:  # the same table again: the same state, so the same backup
            return self._backups[id(value)]
        backup = self._backups[id(value)] = copy.copy(value)
        backup.items = copy.copy(value.items)  # the same defaultdict type, the same partitions
        for hash_value in self._touched[value.name]:
            partition = value.items.get(hash_value)  # .get: no new partition in the live defaultdict
            if partition is not None:
                backup.items[hash_value] = copy.deepcopy(partition)
        return backup

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _touched_partitions(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> dict[str, set[DynamoType]] | None:
    """{table name: hash keys} the transaction's items name, or None if one cannot be read (then moto's
    own full backup is kept, and moto reports whatever is wrong with the request)."""
    touched: dict[str, set[DynamoType]] = {}
    try:
        for item in transact_items:
            op = next(iter(item.values()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") if "Key" in op else op.get("Item")
            touched.setdefault(table.name, set()).add(DynamoType(key[table.hash_key_attr]))
    except Exception:  # a malformed request: moto's own validation answers it
        return None
    return touched


def _scoped(transact_write_items: Callable) -> Callable:
    @functools.wraps(transact_write_items)
    def wrapper(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        # The lock is re-entrant and _atomic holds it already; taken here too, so the module global is
        # never swapped outside it, whatever wraps this.
        with _data_lock:
            touched = _touched_partitions(self, transact_items) if _scoped_backups else None
            if touched is None:
                return transact_write_items(self, transact_items)
            previous = moto_dynamodb.copy
            moto_dynamodb.copy = _ScopedCopy(touched)
            try:
                return transact_write_items(self, transact_items)
            finally:
                moto_dynamodb.copy = previous

    return wrapper


@contextmanager
def full_transaction_backups() -> Iterator[None]:
    """Inside: moto's own TransactWriteItems backup (a deep copy of the whole table per item), for every
    thread of the process. For comparison (the bench); the hooks stay installed."""
    global _scoped_backups
    with _data_lock:
        previous, _scoped_backups = _scoped_backups, False
    try:
        yield
    finally:
        with _data_lock:
            _scoped_backups = previous


_partition = threading.local()  # .scope: (table, hash key) or (table, [primary keys]) while a query runs

PrimaryKey = tuple[DynamoType, DynamoType | None]


def _sorted(items: list[Any]) -> list[Any]:
    """The order of moto's `Table.all_items`."""
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _stored(table: Table, key: PrimaryKey) -> Any:
    partition = table.items.get(key[0])  # .get: no new partition in the live defaultdict
    if partition is None or not table.range_key_attr:
        return partition
    return partition.get(key[1])


class _IndexEntries:
    """One table's secondary indexes, as DynamoDB keeps them: for each index with a single hash key
    attribute, its hash key value -> the primary keys of the items that carry it."""

    def __init__(self, table: Table):
        self.identity = _identity(table)
        self.hash_attribute: dict[str, str] = {}
        for index in table.all_indexes():
            hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
            if len(hashes) == 1:
                self.hash_attribute[index.name] = hashes[0]
        self.entries: dict[str, dict[DynamoType, set[PrimaryKey]]] = {n: {} for n in self.hash_attribute}
        self.values: dict[PrimaryKey, dict[str, DynamoType]] = {}  # what each item is indexed under
        for partition in list(table.items.values()):
            for item in list(partition.values()) if table.range_key_attr else [partition]:
                self.sync(table, (item.hash_key, item.range_key))

    def sync(self, table: Table, key: PrimaryKey) -> None:
        """Bring the entries of one primary key up to date with the table."""
        for name, value in self.values.pop(key, {}).items():
            keys = self.entries[name].get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.entries[name][value]
        item = _stored(table, key)
        if item is None:
            return
        values = {}
        for name, attribute in self.hash_attribute.items():
            value = item.attrs.get(attribute)
            if value is not None:
                self.entries[name].setdefault(value, set()).add(key)
                values[name] = value
        if values:
            self.values[key] = values

    def items(self, table: Table, index_name: str, value: DynamoType) -> list[Any]:
        found = [_stored(table, key) for key in self.entries[index_name].get(value, ())]
        return _sorted([item for item in found if item is not None])


def _identity(table: Table) -> tuple[Any, ...]:
    """What makes entries built from a table still valid: the same table (a table deleted and created
    again is another) with the same indexes. A transaction's rollback puts a copy in the table's place:
    the same identity."""
    return (table.table_arn, table.created_at, tuple(sorted(i.name for i in table.all_indexes())))


# backend -> table name -> its entries; read and changed under _data_lock
_index_entries: weakref.WeakKeyDictionary[DynamoDBBackend, dict[str, _IndexEntries]]
_index_entries = weakref.WeakKeyDictionary()


def _entries(backend: DynamoDBBackend, table: Table) -> _IndexEntries:
    tables = _index_entries.setdefault(backend, {})
    entries = tables.get(table.name)
    if entries is None or entries.identity != _identity(table):
        entries = tables[table.name] = _IndexEntries(table)
    return entries


def _key_of(table: Table, attributes: dict[str, Any]) -> PrimaryKey | None:
    def typed(value: Any) -> DynamoType:
        # A transaction's put passes its attributes on after moto has typed them ({"S": DynamoType}).
        if isinstance(value, DynamoType):
            return value
        inner = next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else None
        return inner if isinstance(inner, DynamoType) else DynamoType(value)

    try:
        hash_value = typed(attributes[table.hash_key_attr])
        range_value = typed(attributes[table.range_key_attr]) if table.range_key_attr else None
        hash((hash_value, range_value))  # a key of the wrong type (a map) is no key: moto answers it
    except (KeyError, TypeError, AttributeError):
        return None
    return hash_value, range_value


def _written_keys(backend: DynamoDBBackend, name: str, args: tuple[Any, ...]) -> list[tuple[str, Any]]:
    """The (table name, primary key) pairs a write names: put_item(table, item), update_item(table, key),
    delete_item(table, key), transact_write_items(items), read before moto runs it (moto turns the
    attributes into its own types in place). Unreadable requests name nothing (moto refuses them)."""
    requests: list[tuple[str, dict[str, Any]]] = []
    if name in ("put_item", "update_item", "delete_item") and len(args) >= 2:
        requests.append((args[0], args[1]))
    elif name == "transact_write_items" and args:
        for item in args[0] or ():
            try:
                op = next(iter(item.values()))
                requests.append((op.get("TableName"), op.get("Key") if "Key" in op else op.get("Item")))
            except (StopIteration, AttributeError):
                continue
    written = []
    for table_name, attributes in requests:
        table = backend.tables.get(table_name) if isinstance(table_name, str) else None
        key = _key_of(table, attributes) if table is not None and isinstance(attributes, dict) else None
        if key is not None:
            written.append((table_name, key))
    return written


def _synced(name: str, method: Callable) -> Callable:
    """After a write (done or refused), the index entries of the keys it names are brought up to date."""

    @functools.wraps(method)
    def wrapper(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _data_lock:
            written = _written_keys(self, name, args)
            try:
                return method(self, *args, **kwargs)
            finally:
                for table_name, key in written:
                    entries = _index_entries.get(self, {}).get(table_name)
                    if entries is not None and table_name in self.tables:
                        entries.sync(self.tables[table_name], key)

    return wrapper


def _index_value(table: Table, index_name: str, kwargs: dict[str, Any]) -> DynamoType | None:
    """The hash key value an index query asks for, if its index has one hash key attribute."""
    conditions = kwargs.get("hash_key_conditions") or []
    if len(conditions) != 1:
        return None
    ((attribute, value),) = conditions
    try:
        index = table.get_index(index_name)
    except KeyError:
        return None
    hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    return value if hashes == [attribute] else None


def _partition_query(query: Callable) -> Callable:
    @functools.wraps(query)
    def wrapper(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None:
            value = _index_value(self, index_name, kwargs)
            backend = _backend_of(self)
            if value is None or backend is None:
                return query(self, hash_key, *args, **kwargs)
            with _data_lock:
                entries = _entries(backend, self)
                if index_name not in entries.hash_attribute:
                    return query(self, hash_key, *args, **kwargs)
                _partition.scope = (self, entries.items(self, index_name, value))
                try:
                    return query(self, hash_key, *args, **kwargs)
                finally:
                    _partition.scope = None
        if hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _partition.scope = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _partition.scope = None

    wrapper.partition_scoped = True  # type: ignore[attr-defined]
    return wrapper


def _backend_of(table: Table) -> DynamoDBBackend | None:
    """The backend whose live table this is (the one moto answers the query from)."""
    try:
        backend = moto_dynamodb.dynamodb_backends[table.account_id][table.region_name]
    except (KeyError, AttributeError):
        return None
    return backend if backend.tables.get(table.name) is table else None


def _partition_items(all_items: Callable) -> Callable:
    @functools.wraps(all_items)
    def wrapper(self: Table) -> Any:
        scope = getattr(_partition, "scope", None)
        if scope is None or scope[0] is not self:
            return all_items(self)
        if isinstance(scope[1], list):  # an index query's items, found already
            return scope[1]
        partition = self.items.get(scope[1])  # .get: no new partition in the live defaultdict
        if partition is None:
            return []
        return _sorted(list(partition.values()) if self.range_key_attr else [partition])

    return wrapper


_function_keys: dict[str, str] = {}  # access key id -> function logical id
_recorded: list[tuple[str, authorization.Check, bool]] = []
_recorded_lock = threading.Lock()
_record_file: list[Any] = []  # the open file every check is also written to (record_to), if any


def register_function_credentials(function: str, access_key_id: str) -> None:
    """Requests signed with this access key are the function's: its role's policies decide them."""
    _function_keys[access_key_id] = function


def record_to(path: str) -> None:
    """Also write every check, one JSON line each ({function, action, resource, allowed}), to `path`."""
    with _recorded_lock:
        if _record_file and _record_file[0].name == path:
            return
        for file in _record_file:
            file.close()
        _record_file[:] = [open(path, "a", encoding="utf-8", buffering=1)]  # noqa: SIM115 - kept open


@contextmanager
def unrecorded() -> Iterator[None]:
    """Inside: checks are made but not written to the record file (a test's deliberate refusals)."""
    with _recorded_lock:
        paused, _record_file[:] = list(_record_file), []
    try:
        yield
    finally:
        with _recorded_lock:
            _record_file[:] = paused


def recorded_checks() -> list[tuple[str, authorization.Check, bool]]:
    """(function, check, allowed) of every request a function made, oldest first."""
    with _recorded_lock:
        return list(_recorded)


def _access_key_id(headers: Any) -> str:
    credential = headers.get("Authorization", "").partition("Credential=")[2]
    return credential.split("/", 1)[0]


def _verified_identity(account: str, region: str) -> Callable[[str], bool]:
    return lambda identity: identity in ses_backends[account][region].email_identities


def _secret_arn(account: str, region: str) -> Callable[[str], str]:
    def arn(secret_id: str) -> str:
        secrets = secretsmanager_backends[account][region].secrets
        return secrets[secret_id].arn if secret_id in secrets else secret_id

    return arn


def _allowed(policies: list[Any], check: authorization.Check) -> bool:
    allowed = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(check.action, check.resource)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed


def _record(function: str, check: authorization.Check, allowed: bool) -> None:
    with _recorded_lock:
        _recorded.append((function, check, allowed))
        for file in _record_file:
            line = {"function": function, "action": check.action, "resource": check.resource}
            file.write(json.dumps({**line, "allowed": allowed}) + "\n")


def _presigned_key_id(response: Any) -> str:
    """The access key of a presigned S3 URL (query-string auth): X-Amz-Credential=<key id>/<date>/..."""
    values = (getattr(response, "querystring", None) or {}).get("X-Amz-Credential") or [""]
    return str(values[0]).split("/", 1)[0]


def _authorize_presigned(self: Any, resource: str) -> None:
    """A presigned S3 URL a function signed (a download link): authorized as that function's role, as S3
    does, and refused once its time is up ("Request has expired"). Its signature is not recomputed here."""
    query = {k: v[0] for k, v in self.querystring.items() if v}
    key_id = _presigned_key_id(self)
    signed = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (datetime.now(UTC) - signed).total_seconds() > int(query.get("X-Amz-Expires", "0")):
        raise S3AccessDeniedError()
    access_key = AssumedRoleAccessKey(
        self.current_account, "aws", key_id, {"X-Amz-Security-Token": query.get("X-Amz-Security-Token", "")}
    )
    check = authorization.Check(f"s3:{self._get_action()}", resource)
    allowed = _allowed(access_key.collect_policies(), check)
    _record(_function_keys[key_id], check, allowed)
    if not allowed:
        raise S3AccessDeniedError()


def _enforce_roles(authenticate: Callable) -> Callable:
    @functools.wraps(authenticate)
    def wrapper(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        function = _function_keys.get(_access_key_id(self.headers))
        if function is None and _presigned_key_id(self) in _function_keys:
            return _authorize_presigned(self, resource)
        if function is None:
            return authenticate(self, iam_request_cls, resource)
        iam_request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=self.raw_path,
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        iam_request.check_signature()
        if iam_request._action == "sts:GetCallerIdentity":  # IAM always allows it (moto's check too)
            return None
        request = authorization.Request(
            service=iam_request._service,
            action=self._get_action(),
            region=iam_request._region,
            account=self.current_account,
            body=authorization.parse_body(self.raw_body)
            or {k: v[0] for k, v in self.querystring.items() if v},
            resource=resource,
        )
        checks = authorization.checks(
            request,
            _verified_identity(self.current_account, request.region),
            _secret_arn(self.current_account, request.region),
        )
        policies = iam_request._access_key.collect_policies()
        principal = iam_request._access_key.arn
        for check in checks:
            allowed = _allowed(policies, check)
            _record(function, check, allowed)
            if not allowed and "json" not in self.headers.get("Content-Type", ""):
                iam_request._action = check.action
                iam_request._raise_access_denied()  # the XML error of a query protocol (IAM, STS, SNS)
            if not allowed:
                raise JsonRESTError(
                    "AccessDeniedException",
                    f"User: {principal} is not authorized to perform: {check.action} on resource: "
                    f"{check.resource} because no identity-based policy allows the {check.action} action",
                )
        return None

    wrapper.enforces_roles = True  # type: ignore[attr-defined]
    return wrapper


_token_lock = threading.Lock()  # a token's check, answer and marking happen under it
_opened = threading.local()  # the endpoints opened by the callback Task state running on this thread
_TASK_GONE = "Task Timed Out: 'Provided task does not exist anymore'"
_SENDS = {"send_task_success": True, "send_task_failure": True, "send_task_heartbeat": False}  # answers?


def _noting_opened(add: Callable) -> Callable:
    @functools.wraps(add)
    def wrapper(self: CallbackPoolManager, callback_id: str) -> CallbackEndpoint:
        endpoint = add(self, callback_id)
        opened = getattr(_opened, "endpoints", None)
        if opened is not None:
            opened.append(endpoint)
        return endpoint

    return wrapper


def _close(endpoint: CallbackEndpoint) -> None:
    if endpoint.consumer_error is None:
        unanswered = endpoint.get_outcome() is None
        endpoint.report(CallbackConsumerTimeout() if unanswered else CallbackConsumerLeft())


def _closing_its_tokens(eval_body: Callable) -> Callable:
    @functools.wraps(eval_body)
    def wrapper(self: callback_task.StateTaskServiceCallback, env: Any) -> Any:
        outer = getattr(_opened, "endpoints", None)
        _opened.endpoints = opened = []
        try:
            return eval_body(self, env)
        finally:
            _opened.endpoints = outer
            with _token_lock:
                for endpoint in opened:
                    _close(endpoint)

    wrapper.closes_tokens = True  # type: ignore[attr-defined]
    return wrapper


def _issued(backend: StepFunctionsParserBackend, task_token: str) -> tuple[Any, CallbackEndpoint] | None:
    """(environment, callback endpoint) of the execution of the backend that issued the task token."""
    for execution in backend._get_executions():
        worker = execution.exec_worker
        endpoint = worker.env.callback_pool_manager.get(task_token) if worker is not None else None
        if endpoint is not None:
            return worker.env, endpoint
    return None


def _live_tokens_only(send: Callable, answers: bool) -> Callable:
    @functools.wraps(send)
    def wrapper(self: StepFunctionsParserBackend, task_token: str, *args: Any, **kwargs: Any) -> Any:
        with _token_lock:
            issued = _issued(self, task_token)
            if issued is not None:
                env, endpoint = issued
                if endpoint.consumer_error is not None or not env.is_running():
                    # moto's class has no TYPE: without the code it serialises as "__type": null
                    raise TaskTimedOut(_TASK_GONE, "TaskTimedOut")
            result = send(self, task_token, *args, **kwargs)
            if issued is not None and answers:
                issued[1].report(CallbackConsumerLeft())
            return result

    wrapper.closes_tokens = True  # type: ignore[attr-defined]
    return wrapper


def _close_task_tokens() -> None:
    CallbackPoolManager.add = _noting_opened(CallbackPoolManager.add)
    task = callback_task.StateTaskServiceCallback
    task._eval_body = _closing_its_tokens(task._eval_body)
    for name, answers in _SENDS.items():
        send = getattr(StepFunctionsParserBackend, name)
        setattr(StepFunctionsParserBackend, name, _live_tokens_only(send, answers))


_UNCATCHABLE = (StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded)


def _states_all_spares_terminal_errors(eval_body: Callable) -> Callable:
    @functools.wraps(eval_body)
    def wrapper(self: ErrorEqualsDecl, env: Any) -> None:
        error_name = env.stack[-1] if env.stack else None
        if (
            ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names
            and isinstance(error_name, StatesErrorName)
            and error_name.typ in _UNCATCHABLE
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        eval_body(self, env)

    wrapper.spares_terminal_errors = True  # type: ignore[attr-defined]
    return wrapper


@dataclass
class _Fault:
    error: str
    count: int  # calls still to fail
    function: str | None  # only this function's calls; None: anyone's
    after: int  # matching calls still to let through first


_faults: dict[str, list[_Fault]] = {}  # operation -> what its next calls meet, first armed first
_faults_lock = threading.Lock()
_DYNAMODB_FAULTS = ("ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError")
# The faults each operation can be made to answer (HTTP 400 with the error's code, as JSON protocols do;
# InternalServerError 500). "TransactionConflict" is a TransactionCanceledException whose every
# cancellation reason is TransactionConflict: another transaction was writing one of its items.
FAULTS = {
    "SendTaskSuccess": ("ThrottlingException", "TaskTimedOut"),
    "SendEmail": ("TooManyRequestsException",),  # SES v2's rate limit (raw and simple content alike)
    "TransactWriteItems": (*_DYNAMODB_FAULTS, "TransactionConflict"),
    "UpdateItem": _DYNAMODB_FAULTS,
    "PutItem": _DYNAMODB_FAULTS,
    "GetItem": _DYNAMODB_FAULTS,
    "Query": _DYNAMODB_FAULTS,
}
# Operations whose faults can be aimed at one function's calls (its role's credentials sign them).
_DYNAMODB_REQUESTS = {
    "TransactWriteItems": "transact_write_items",
    "UpdateItem": "update_item",
    "PutItem": "put_item",
    "GetItem": "get_item",
    "Query": "query",
}
_BY_FUNCTION = set(_DYNAMODB_REQUESTS)


def inject_fault(
    operation: str, error: str, count: int = 1, function: str | None = None, after: int = 0
) -> None:
    """The next `count` calls of `operation` fail with AWS error `error` (one of FAULTS); with `function`,
    only that function's calls (DynamoDB operations); with `after`, once that many calls went through."""
    if error not in FAULTS.get(operation, ()):
        raise ValueError(f"no fault {error} for {operation}: one of {FAULTS}")
    if function is not None and operation not in _BY_FUNCTION:
        raise ValueError(f"faults of {operation} cannot be aimed at a function: only {sorted(_BY_FUNCTION)}")
    if count < 1 or after < 0:
        raise ValueError("count must be 1 or more, after 0 or more")
    with _faults_lock:
        _faults.setdefault(operation, []).append(_Fault(error, count, function, after))


def clear_faults() -> None:
    with _faults_lock:
        _faults.clear()


def _next_fault(operation: str, function: str | None = None) -> str | None:
    with _faults_lock:
        pending = _faults.get(operation, [])
        fault = next((f for f in pending if f.function is None or f.function == function), None)
        if fault is None:
            return None
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.count -= 1
        if fault.count == 0:
            pending.remove(fault)
        return fault.error


def _faulty(operation: str, call: Callable) -> Callable:
    @functools.wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        error = _next_fault(operation)
        if error is not None:
            raise JsonRESTError(error, f"injected fault: {error}")
        return call(*args, **kwargs)

    wrapper.faulty = True  # type: ignore[attr-defined]
    return wrapper


def _faulty_request(operation: str, handle: Callable) -> Callable:
    """A DynamoDB request handler (DynamoHandler.put_item …) that may answer an injected fault, aimed at
    the function whose credentials signed the request, or at anyone's."""

    @functools.wraps(handle)
    def wrapper(self: DynamoHandler) -> Any:
        error = _next_fault(operation, _function_keys.get(_access_key_id(self.headers)))
        if error == "TransactionConflict":
            items = len(self._get_param("TransactItems") or []) or 1
            reason = ("TransactionConflict", "Transaction is ongoing for the item", None)
            raise TransactionCanceledException([reason] * items)
        if error is not None:
            fault = JsonRESTError(error, f"injected fault: {error}")
            fault.code = 500 if error == "InternalServerError" else 400
            raise fault
        return handle(self)

    wrapper.faulty = True  # type: ignore[attr-defined]
    return wrapper


def _listed_once(list_modules: Callable[[], Any]) -> Callable[[], Any]:
    modules = tuple(list_modules())

    @functools.wraps(list_modules)
    def wrapper() -> Any:
        return iter(modules)

    wrapper.listed_once = True  # type: ignore[attr-defined]
    return wrapper


_programs: dict[str, Any] = {}  # definition text -> the program parsed from it, never evaluated
_programs_lock = threading.Lock()
_PROGRAMS_KEPT = 16


def _parsed_once(get_entrypoint: Callable) -> Callable:
    @functools.wraps(get_entrypoint)
    def wrapper(self: ExecutionWorker) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with _programs_lock:  # executions starting together wait for the one parse
            program = _programs.get(definition)
            if program is None:
                program = get_entrypoint(self)
                if len(_programs) >= _PROGRAMS_KEPT:
                    _programs.pop(next(iter(_programs)))
                _programs[definition] = program
        return copy.deepcopy(program)

    wrapper.parsed_once = True  # type: ignore[attr-defined]
    return wrapper


# ---------------------------------------------------------------- (12) receipt rules name our functions


def _lambda_action_in_simple_backend(validate: Callable) -> Callable:
    @functools.wraps(validate)
    def wrapper(self: SESBackend, lambda_action: dict[str, str]) -> None:
        simple = lambda_simple_backends[self.account_id][self.region_name]
        try:
            simple.get_function(lambda_action["FunctionArn"])
        except Exception:  # not there: moto's own check decides
            return validate(self, lambda_action)
        return None

    wrapper.finds_simple_functions = True  # type: ignore[attr-defined]
    return wrapper


# ---------------------------------------------------------------- (13) browser uploads checked as S3 does


def _checked_upload(post: Callable) -> Callable:
    @functools.wraps(post)
    def wrapper(self: S3Response, request: Any, bucket_name: str) -> Any:
        form = {k.lower(): str(v) for k, v in (self.form_data or {}).items() if k.lower() != "file"}
        if "policy" not in form or self.is_delete_keys():
            return post(self, request, bucket_name)
        key_id = form.get("x-amz-credential", "").split("/", 1)[0]
        function = _function_keys.get(key_id)
        access_key = None
        if function is not None:
            try:
                access_key = AssumedRoleAccessKey(
                    self.current_account,
                    "aws",
                    key_id,
                    {"X-Amz-Security-Token": form.get("x-amz-security-token", "")},
                )
            except Exception:  # moto's CreateAccessKeyFailure: a token that is not this key's
                return (
                    403,
                    {},
                    post_policy.Refusal(403, "InvalidToken", "The provided token is malformed").xml(),
                )
        size = len(self.raw_body or b"")
        refused = post_policy.refusal(
            form,
            size,
            bucket_name,
            datetime.now(UTC),
            lambda _: access_key.create_credentials().secret_key if access_key else None,
        )
        if refused is not None:
            return refused.status, {}, refused.xml()
        if access_key is not None:
            check = authorization.Check("s3:PutObject", f"arn:aws:s3:::{bucket_name}/{form.get('key', '')}")
            allowed = _allowed(access_key.collect_policies(), check)
            _record(function, check, allowed)
            if not allowed:
                return 403, {}, post_policy.Refusal(403, "AccessDenied", "Access Denied").xml()
        status, headers, body = post(self, request, bucket_name)
        return int(status), headers, body  # moto answers success_action_status as the form's string

    wrapper.checks_post_policy = True  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Patch moto (once per process)."""
    global _installed
    if _installed:
        return
    LambdaSimpleBackend.invoke = _simple_invoke
    # (3) first, so (2) wraps it: the lock is held before the transaction swaps moto's `copy`, and the
    # index entries of (5) are synced after a rollback.
    DynamoDBBackend.transact_write_items = _scoped(DynamoDBBackend.transact_write_items)
    for name in _WRITES:
        setattr(DynamoDBBackend, name, _synced(name, getattr(DynamoDBBackend, name)))
    DynamoHandler.call_action = _atomic(DynamoHandler.call_action)
    Table.query = _partition_query(Table.query)
    Table.all_items = _partition_items(Table.all_items)
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _enforce_roles(
        ActionAuthenticatorMixin._authenticate_and_authorize_action
    )
    _close_task_tokens()
    ErrorEqualsDecl._eval_body = _states_all_spares_terminal_errors(ErrorEqualsDecl._eval_body)
    StepFunctionsParserBackend.send_task_success = _faulty(
        "SendTaskSuccess", StepFunctionsParserBackend.send_task_success
    )
    SESV2Backend.send_email = _faulty("SendEmail", SESV2Backend.send_email)
    SESV2Backend.send_raw_email = _faulty("SendEmail", SESV2Backend.send_raw_email)
    for operation, method in _DYNAMODB_REQUESTS.items():
        setattr(DynamoHandler, method, _faulty_request(operation, getattr(DynamoHandler, method)))
    moto_backends.list_of_moto_modules = _listed_once(moto_backends.list_of_moto_modules)
    ExecutionWorker._get_evaluation_entrypoint = _parsed_once(ExecutionWorker._get_evaluation_entrypoint)
    SESBackend._validate_lambda_action = _lambda_action_in_simple_backend(SESBackend._validate_lambda_action)
    S3Response._bucket_response_post = _checked_upload(S3Response._bucket_response_post)
    _installed = True


def start_server(host: str, port: int) -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def sent_raw_messages(account: str, region: str) -> list[tuple[str, str]]:
    """(message id, raw MIME text) of every raw email SES accepted, oldest first."""
    backend = ses_backends[account][region]
    return [(m.id, m.raw_data) for m in list(backend.sent_messages) if isinstance(m, RawMessage)]
