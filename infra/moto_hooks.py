"""Every place the embedded stack relies on moto internals, in one module.

tests/integration/test_moto_hooks.py exercises each of them, so a moto upgrade that breaks one fails
loudly there instead of quietly in `make run`.

1. Lambda invoke: with `{"lambda": {"use_docker": False}}` moto answers Invoke from
   `LambdaSimpleBackend.invoke`; we route that call to the project's handler, in-process.
2. DynamoDB writes are made atomic with one lock: DynamoDB is linearizable per item, moto's threaded
   server is not, and intake's exactly-once under concurrent duplicates depends on that guarantee.
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
   thread, `all_items` of that table returns the partition's items only (sorted the same way); index
   queries are left alone (their keys are other attributes).
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
   assumed role and its policy evaluation (`IAMPolicy`). Every check is recorded (`recorded_checks`,
   `record_to`).
8. `States.ALL` does not catch or retry `States.Runtime` (nor `States.DataLimitExceeded`), as on AWS: an
   execution that reads a path its input does not have fails outright there, whatever its Catch says.
   moto's `ErrorEqualsDecl._eval_body` matches States.ALL against every error; ours answers "no match" for
   those two, so a missing path fails the execution locally too, instead of being caught into a tidy
   NEEDS_ATTENTION that AWS would never reach.
9. Faults on demand (`inject_fault`): the next N calls of an operation fail with the AWS error given,
   before moto sees them: a test (or `POST /_local/faults` on the embedded stack) makes SendTaskSuccess
   throttle, or answer TaskTimedOut as if the wait had just ended, or SES v2 SendEmail answer its rate
   limit, exactly when it wants. Wraps `StepFunctionsParserBackend.send_task_success` (after (6), so an
   injected fault leaves the token live) and `SESV2Backend.send_email`/`send_raw_email`.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.secretsmanager.models import secretsmanager_backends
from moto.ses.models import RawMessage, ses_backends
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
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from infra import authorization
from infra.lambdas import HandlerError

Invoker = Callable[[str, Any], Any]
_invokers: dict[str, Invoker] = {}
_installed = False
_write_lock = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_scoped_backups = True  # read and changed under _write_lock


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
        with _write_lock:
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

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if not isinstance(value, Table) or value.stream_shard is not None or value.name not in self._touched:
            return copy.deepcopy(value, memo)
        backup = copy.copy(value)
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
        with _write_lock:
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
    with _write_lock:
        previous, _scoped_backups = _scoped_backups, False
    try:
        yield
    finally:
        with _write_lock:
            _scoped_backups = previous


_partition = threading.local()


def _partition_query(query: Callable) -> Callable:
    @functools.wraps(query)
    def wrapper(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _partition.scope = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _partition.scope = None

    wrapper.partition_scoped = True  # type: ignore[attr-defined]
    return wrapper


def _partition_items(all_items: Callable) -> Callable:
    @functools.wraps(all_items)
    def wrapper(self: Table) -> Any:
        scope = getattr(_partition, "scope", None)
        if scope is None or scope[0] is not self:
            return all_items(self)
        partition = self.items.get(scope[1])  # .get: no new partition in the live defaultdict
        if partition is None:
            return []
        items = list(partition.values()) if self.range_key_attr else [partition]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

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


def _enforce_roles(authenticate: Callable) -> Callable:
    @functools.wraps(authenticate)
    def wrapper(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        function = _function_keys.get(_access_key_id(self.headers))
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
            with _recorded_lock:
                _recorded.append((function, check, allowed))
                for file in _record_file:
                    line = {"function": function, "action": check.action, "resource": check.resource}
                    file.write(json.dumps({**line, "allowed": allowed}) + "\n")
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


_faults: dict[str, list[str]] = {}  # operation -> the errors its next calls fail with
_faults_lock = threading.Lock()
# The faults each operation can be made to answer (HTTP 400 with the error's code, as JSON protocols do).
FAULTS = {
    "SendTaskSuccess": ("ThrottlingException", "TaskTimedOut"),
    "SendEmail": ("TooManyRequestsException",),  # SES v2's rate limit (raw and simple content alike)
}


def inject_fault(operation: str, error: str, count: int = 1) -> None:
    """The next `count` calls of `operation` fail with AWS error `error` (one of FAULTS)."""
    if error not in FAULTS.get(operation, ()):
        raise ValueError(f"no fault {error} for {operation}: one of {FAULTS}")
    with _faults_lock:
        _faults.setdefault(operation, []).extend([error] * count)


def clear_faults() -> None:
    with _faults_lock:
        _faults.clear()


def _next_fault(operation: str) -> str | None:
    with _faults_lock:
        pending = _faults.get(operation)
        return pending.pop(0) if pending else None


def _faulty(operation: str, call: Callable) -> Callable:
    @functools.wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        error = _next_fault(operation)
        if error is not None:
            raise JsonRESTError(error, f"injected fault: {error}")
        return call(*args, **kwargs)

    wrapper.faulty = True  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Patch moto (once per process)."""
    global _installed
    if _installed:
        return
    LambdaSimpleBackend.invoke = _simple_invoke
    # (3) first, so (2) wraps it: the lock is held before the transaction swaps moto's `copy`.
    DynamoDBBackend.transact_write_items = _scoped(DynamoDBBackend.transact_write_items)
    for name in _WRITES:
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))
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
    _installed = True


def start_server(host: str, port: int) -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def sent_raw_messages(account: str, region: str) -> list[tuple[str, str]]:
    """(message id, raw MIME text) of every raw email SES accepted, oldest first."""
    backend = ses_backends[account][region]
    return [(m.id, m.raw_data) for m in list(backend.sent_messages) if isinstance(m, RawMessage)]
