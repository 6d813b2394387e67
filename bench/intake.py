"""POST /complaints through the real IntakeApiFunction handler, in-process, against the embedded stack.

The handler is called directly (`stack.runtimes["IntakeApiFunction"].invoke(event)`) with API Gateway
REST proxy events, one request at a time from this thread: per-request handler time and requests per
second for one sequential client.

Its AWS calls are counted with botocore hooks on boto3's default session, registered before the
stack's first invoke imports the handler module (clients copy the session's hooks when they are
created). Calls made on this thread belong to the request; calls on other threads (moto's state
machine executions, the Acknowledge handler they invoke, the scheduled reconciler) are counted apart.

The bare baseline replays the exact parameters the handler sent on one warm-up request (captured by a
`provide-client-params` hook), with a fresh complaint id and claim key each time: the same three
operations, payloads and conditions, made with boto3 clients built the same way the handler builds
them (the DynamoDB resource's client, which serializes plain Python values, and a Step Functions
client), against the same endpoint. The handler's own code is its time minus the time inside its boto3
calls (provide-client-params to after-call hooks).

Handler and bare requests alternate in half-blocks, each starting from the same state (untimed):
executions drained, table emptied (moto's TransactWriteItems deep-copies the whole table per item, so
its cost grows with the table; DynamoDB's does not), heap collected and gc.freeze()d (so full
collections don't rescan moto's growing state inside a timed request; those that still run are
counted per side).

Two phases:
  isolated - moto's state machine execution is switched off (the state machine is created in moto's
             plain Step Functions backend, where StartExecution only records the execution), so
             nothing runs in the background but the reconciler's timer;
  workflow - the stack as `make run` has it: each StartExecution starts a moto execution in a
             background thread that invokes the Acknowledge handler (query, email, update) while the
             next requests are measured; after the loop the executions are drained and checked.
"""

from __future__ import annotations

import copy
import gc
import json
import secrets
import socket
import statistics
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError

from infra.stack import EmbeddedStack, StackConfig

EXPECTED_OPS = ["dynamodb.TransactWriteItems", "stepfunctions.StartExecution", "dynamodb.TransactWriteItems"]
Progress = Callable[[str], None]


# ---------------------------------------------------------------- AWS call counting


def _op(model: Any) -> str:
    return f"{model.service_model.service_name}.{model.name}"


class AwsCalls:
    """botocore hooks on a session: API calls by thread, and the parameters of calls being captured."""

    def __init__(self, session: boto3.Session):
        self.main = threading.get_ident()
        self._lock = threading.Lock()
        self._mine: list[str] = []
        self._background: Counter[str] = Counter()
        self.capturing = False
        self.captured: list[tuple[str, str, dict[str, Any]]] = []  # (service, operation, params)
        self._call_started = 0.0
        self._in_calls = 0.0
        session.events.register("provide-client-params", self._params, unique_id="bench-client-params")
        session.events.register("before-call", self._before_call, unique_id="bench-before-call")
        session.events.register("after-call", self._after_call, unique_id="bench-after-call")

    def _before_call(self, model: Any, **_: Any) -> None:
        if threading.get_ident() == self.main:
            self._mine.append(_op(model))
        else:
            with self._lock:
                self._background[_op(model)] += 1

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if threading.get_ident() != self.main:
            return
        if self.capturing:
            self.captured.append((model.service_model.service_name, model.name, copy.deepcopy(params)))
        self._call_started = time.perf_counter()  # the first hook of a call: before serialization

    def _after_call(self, **_: Any) -> None:
        if threading.get_ident() == self.main:
            self._in_calls += time.perf_counter() - self._call_started

    def take_in_calls(self) -> float:
        """Seconds this thread spent inside boto3 calls (parameters to parsed response) since last time."""
        spent, self._in_calls = self._in_calls, 0.0
        return spent

    def take(self) -> list[str]:
        """The calls this thread made since the last take()."""
        mine, self._mine = self._mine, []
        return mine

    def take_background(self) -> dict[str, int]:
        with self._lock:
            background, self._background = self._background, Counter()
        return dict(sorted(background.items()))


def describe(service: str, operation: str, params: dict[str, Any]) -> str:
    text = f"{service}.{operation}"
    if operation == "TransactWriteItems":
        kinds = [next(iter(item)) for item in params.get("TransactItems", [])]
        text += "[" + ", ".join(kinds) + "]"
    return text


class GcWatch:
    """Full (generation 2) garbage collections: how many, and how long they paused everything."""

    def __init__(self) -> None:
        self._started = 0.0
        self.count = 0
        self.seconds = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started

    def take(self) -> tuple[int, float]:
        taken = self.count, self.seconds
        self.count, self.seconds = 0, 0.0
        return taken

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


# ---------------------------------------------------------------- requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_event(body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /complaints, as infra.gateway.proxy_event builds it."""
    request_id = str(uuid.uuid4())
    headers = {
        "Host": "127.0.0.1",
        "User-Agent": "bench",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    return {
        "resource": "/complaints",
        "path": "/complaints",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/complaints",
            "httpMethod": "POST",
            "path": "/prod/complaints",
            "stage": "prod",
            "domainName": "127.0.0.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": json.dumps(
            {
                "customer": {"email": f"bench.{body['n']}@example.com", "locale": "en"},
                "channel": "api",
                "subject": "Card payment taken twice",
                "description": f"Bench complaint {body['run']}-{body['n']}: my card was charged twice "
                "for the same order and the second charge has not been refunded.",
                "amount": {"value": "150.00", "currency": "EUR"},
            }
        ),
        "isBase64Encoded": False,
    }


def _substitute(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _substitute(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, replacements) for item in value]
    return value


def _find_claim_key(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.startswith("CLAIM#") else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        found = _find_claim_key(item)
        if found:
            return found
    return None


class Replay:
    """The handler's AWS calls for one request, made again directly with fresh ids."""

    def __init__(self, captured: list[tuple[str, str, dict[str, Any]]], complaint_id: str):
        self.template = captured
        self.complaint_id = complaint_id
        claim = _find_claim_key([params for _, _, params in captured])
        if claim is None:
            raise SystemExit("bench: the captured TransactWriteItems has no CLAIM# item")
        self.claim = claim
        # Built like the handler's: the table resource's client (plain Python values) and a client.
        self._dynamodb = boto3.resource("dynamodb")
        self.clients = {
            "dynamodb": self._dynamodb.meta.client,
            "stepfunctions": boto3.client("stepfunctions"),
        }

    def prepare(self) -> list[tuple[Callable[..., Any], dict[str, Any]]]:
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        new_id = f"CMP-{datetime.now(UTC):%Y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))
        replacements = {self.complaint_id: new_id, self.claim: f"CLAIM#{secrets.token_hex(32)}"}
        return [
            (getattr(self.clients[service], xform_name(operation)), _substitute(params, replacements))
            for service, operation, params in self.template
        ]

    @staticmethod
    def run(calls: list[tuple[Callable[..., Any], dict[str, Any]]]) -> tuple[float, int]:
        """Make the calls; returns the seconds and how many failed the way the handler tolerates."""
        tolerated = 0
        start = time.perf_counter()
        for method, params in calls:
            try:
                method(**params)
            except ClientError as error:
                if not _lost_race(error, params):
                    raise
                tolerated += 1
        return time.perf_counter() - start, tolerated


def _lost_race(error: ClientError, params: dict[str, Any]) -> bool:
    """What intake tolerates when the scheduled reconciler started the same case first: StartExecution's
    ExecutionAlreadyExists, and the mark-started Update's failed condition."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ExecutionAlreadyExists":
        return True
    items = params.get("TransactItems") or [{}]
    reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons") or []]
    mark_started = "Update" in items[0]
    return code == "TransactionCanceledException" and mark_started and "ConditionalCheckFailed" in reasons


# ---------------------------------------------------------------- statistics


def summary(samples: list[float]) -> dict[str, Any]:
    total = sum(samples)
    return {
        "n": len(samples),
        "total_s": total,
        "req_per_s": len(samples) / total,
        "mean_ms": 1000 * total / len(samples),
        "median_ms": 1000 * statistics.median(samples),
        "p90_ms": 1000 * statistics.quantiles(samples, n=10, method="inclusive")[-1],
        "min_ms": 1000 * min(samples),
        "max_ms": 1000 * max(samples),
        "samples_ms": [round(1000 * sample, 3) for sample in samples],
    }


# ---------------------------------------------------------------- the bench


class IntakeBench:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.run_tag = uuid.uuid4().hex[:8]
        self._n = 0
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        # Before the stack exists, so every client it and the handlers make carries the hooks.
        self.calls = AwsCalls(boto3.DEFAULT_SESSION)
        self.gc = GcWatch()
        self.stopped: set[str] = set()
        self.stack = EmbeddedStack(StackConfig(port=free_port(), aws_port=free_port(), time_scale=3600))
        self.replay: Replay | None = None
        self.last_in_calls = 0.0
        self.bare_lost_races = 0
        self._dynamodb: Any = None
        self._table_name = next(iter(self.stack.template.tables))
        self.cold_start_s: float | None = None
        self.verification: dict[str, Any] = {}

    # -------------------------------------------------------- endpoint control
    def _set_execution(self, enabled: bool) -> None:
        request = urllib.request.Request(  # noqa: S310 - the embedded stack's loopback endpoint
            f"{self.stack.config.aws_endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": enabled}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback endpoint
            answer.read()

    def _machine_arn(self) -> str:
        machine = next(iter(self.stack.template.state_machines.values()))
        return f"arn:aws:states:{self.stack.config.region}:123456789012:stateMachine:{machine.name}"

    def _executions(self, status: str) -> int:
        sfn = self.stack.client("stepfunctions")
        count, token = 0, None
        while True:
            kwargs: dict[str, Any] = {"stateMachineArn": self._machine_arn(), "statusFilter": status}
            if token:
                kwargs["nextToken"] = token
            page = sfn.list_executions(maxResults=1000, **kwargs)
            count += len(page["executions"])
            token = page.get("nextToken")
            if not token:
                self.calls.take()
                return count

    def _waiting_for_a_person(self, execution_arn: str) -> bool:
        """The execution has reached its first human wait (a callback task submitted): no more work."""
        sfn = self.stack.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=3)[
            "events"
        ]
        return any(event["type"] == "TaskSubmitted" for event in events)

    def _drain(self, timeout: float = 90.0) -> float:
        """Let every execution run until it waits for the investigator, then stop it (untimed), so no
        workflow work or timer of one block competes with the next."""
        sfn = self.stack.client("stepfunctions")
        start = time.perf_counter()
        while True:
            running = sfn.list_executions(
                stateMachineArn=self._machine_arn(), statusFilter="RUNNING", maxResults=1000
            )
            arns = [e["executionArn"] for e in running["executions"]]
            if not arns:
                break
            for arn in arns:
                if arn not in self.stopped and self._waiting_for_a_person(arn):
                    sfn.stop_execution(executionArn=arn, cause="bench: reached the investigator's wait")
                    self.stopped.add(arn)
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"bench: state machine executions still running after {timeout:.0f} s")
            time.sleep(0.05)
        self.calls.take()
        return time.perf_counter() - start

    # -------------------------------------------------------- one request each way
    def handler_request(self) -> tuple[float, list[str], dict[str, Any]]:
        self._n += 1
        event = post_event({"run": self.run_tag, "n": self._n})
        runtime = self.stack.runtimes["IntakeApiFunction"]
        self.calls.take()
        self.calls.take_in_calls()
        start = time.perf_counter()
        result = runtime.invoke(event)
        elapsed = time.perf_counter() - start
        ops = self.calls.take()
        self.last_in_calls = self.calls.take_in_calls()
        if result.get("statusCode") != 202:
            status, body = result.get("statusCode"), result.get("body")
            raise SystemExit(f"bench: POST /complaints answered {status}: {body}")
        return elapsed, ops, json.loads(result["body"])

    def bare_request(self) -> tuple[float, list[str]]:
        assert self.replay is not None
        calls = self.replay.prepare()
        self.calls.take()
        elapsed, tolerated = self.replay.run(calls)
        self.bare_lost_races += tolerated
        return elapsed, self.calls.take()

    # -------------------------------------------------------- phases
    def warm_up(self, requests: int) -> None:
        self.progress("intake: warming up (handler cold start, parameter capture)")
        elapsed, _, _ = self.handler_request()
        self.cold_start_s = elapsed
        for _ in range(requests - 2):
            self.handler_request()
        self.calls.capturing = True
        _, ops, accepted = self.handler_request()
        self.calls.capturing = False
        captured = self.calls.captured
        self.verification["handler_ops_one_request"] = ops
        self.verification["handler_calls_described"] = [describe(*call) for call in captured]
        if ops != EXPECTED_OPS:
            raise SystemExit(f"bench: the hook counted {ops} for one request; expected {EXPECTED_OPS}")
        self.replay = Replay(captured, accepted["complaintId"])
        for _ in range(requests):
            _, bare_ops = self.bare_request()
        self.verification["bare_ops_one_request"] = bare_ops
        # The reconciler's timer fires every 5 s: take its cold start now, not inside a measurement.
        self.stack.runtimes["ReconcileFunction"].invoke({"source": "aws.scheduler", "detail": {}})
        self.calls.take()

    def _reset(self, executions: bool) -> int:
        """Untimed, before each half-block: let running executions finish, then empty the table.

        moto's TransactWriteItems deep-copies the whole table for every item it writes, so its cost grows
        with the table (DynamoDB's does not); emptying it keeps both sides at the same, small size."""
        if executions:
            self._drain()
        table = self._dynamodb.Table(self._table_name)
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ProjectionExpression": "pk, sk", "ConsistentRead": True}
        while True:
            page = table.scan(**kwargs)
            keys.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        with table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)
        self.calls.take()
        # What lives on now (moto's growing state above all) is long-lived: keep full collections from
        # rescanning it in whichever request they happen to hit.
        gc.collect()
        gc.freeze()
        return len(keys)

    def measure(self, requests: int, block: int, label: str, executions: bool) -> dict[str, Any]:
        handler: list[float] = []
        own: list[float] = []  # handler time outside its boto3 calls: the handler's own code
        bare: list[float] = []
        handler_ops: Counter[str] = Counter()
        bare_ops: Counter[str] = Counter()
        unexpected = 0
        largest_table = 0
        pauses = {"handler": [0, 0.0], "bare": [0, 0.0]}  # full collections during the half-blocks

        def reset() -> None:
            nonlocal largest_table
            largest_table = max(largest_table, self._reset(executions))
            self.gc.take()  # the reset's own gc.collect() is not counted

        def collected(side: str) -> None:
            count, seconds = self.gc.take()
            pauses[side][0] += count
            pauses[side][1] += seconds

        self._reset(executions)  # what the warm-up left
        self.calls.take_background()
        self.bare_lost_races = 0
        start = time.perf_counter()
        while len(handler) < requests:
            count = min(block, requests - len(handler))
            reset()
            for _ in range(count):
                elapsed, ops, _ = self.handler_request()
                handler.append(elapsed)
                own.append(elapsed - self.last_in_calls)
                handler_ops.update(ops)
                unexpected += ops != EXPECTED_OPS
            collected("handler")
            reset()
            for _ in range(count):
                elapsed, ops = self.bare_request()
                bare.append(elapsed)
                bare_ops.update(ops)
            collected("bare")
            self.progress(f"intake [{label}]: {len(handler)}/{requests} handler + bare requests")
        if executions:
            self._drain()
        wall = time.perf_counter() - start
        handler_summary, bare_summary = summary(handler), summary(bare)
        handler_summary["aws_calls_per_request"] = sum(handler_ops.values()) / requests
        handler_summary["aws_calls"] = dict(handler_ops)
        handler_summary["requests_with_other_calls"] = unexpected
        bare_summary["aws_calls_per_request"] = sum(bare_ops.values()) / requests
        bare_summary["aws_calls"] = dict(bare_ops)
        return {
            "requests": requests,
            "block": block,
            "executions": executions,
            "wall_s": wall,
            "largest_table_items": largest_table,
            "handler": handler_summary,
            "handler_outside_aws_calls": summary(own),
            "bare": bare_summary,
            "ratio_median": handler_summary["median_ms"] / bare_summary["median_ms"],
            "ratio_mean": handler_summary["mean_ms"] / bare_summary["mean_ms"],
            "background_aws_calls": self.calls.take_background(),
            "bare_calls_that_lost_a_race_with_the_reconciler": self.bare_lost_races,
            "full_collections": {
                side: {"count": count, "ms": round(1000 * seconds, 1)}
                for side, (count, seconds) in pauses.items()
            },
        }

    def run(self, requests: int, workflow_requests: int, block: int) -> dict[str, Any]:
        self.progress("intake: starting the embedded stack")
        started = time.perf_counter()
        self.stack.start()
        startup = time.perf_counter() - started
        self.calls.take()
        self.calls.take_background()
        self._dynamodb = boto3.resource("dynamodb")  # after start(): the endpoint is in the environment
        try:
            sfn = self.stack.client("stepfunctions")
            machine = sfn.describe_state_machine(stateMachineArn=self._machine_arn())
            # Isolated: StartExecution goes to moto's plain backend, which records and runs nothing.
            self._set_execution(False)
            spec = next(iter(self.stack.template.state_machines.values()))
            sfn.create_state_machine(
                name=spec.name, definition=spec.definition, roleArn=machine["roleArn"], type=spec.type
            )
            self.calls.take()
            self.warm_up(10)
            isolated = self.measure(requests, block, "isolated", executions=False)

            # Workflow: moto runs each execution in a thread, which invokes the Acknowledge handler.
            self._set_execution(True)
            self.progress("intake [workflow]: warming up (Acknowledge cold start)")
            for _ in range(5):
                self.handler_request()
                self.bare_request()
            self._drain()
            acknowledged_before = self.stack.runtimes["AcknowledgeFunction"].invocations
            stopped_before = len(self.stopped)
            workflow = self.measure(workflow_requests, block, "workflow", executions=True)
            workflow["executions_started"] = 2 * workflow_requests
            workflow["executions_succeeded"] = len(self.stopped) - stopped_before
            workflow["executions_failed_total"] = self._executions("FAILED")
            workflow["acknowledge_invocations"] = (
                self.stack.runtimes["AcknowledgeFunction"].invocations - acknowledged_before
            )
            workflow["acknowledge_cold_starts"] = self.stack.runtimes["AcknowledgeFunction"].cold_starts
        finally:
            self.stack.stop()
            self.gc.close()
            gc.unfreeze()
        return {
            "method": "direct FunctionRuntime.invoke of IntakeApiFunction with REST proxy events, one "
            "request at a time; bare = the handler's captured AWS calls replayed with fresh ids through "
            "boto3 clients built like the handler's; handler and bare alternate in blocks",
            "stack_startup_s": startup,
            "handler_cold_start_in_process_s": self.cold_start_s,
            "intake_cold_starts": self.stack.runtimes["IntakeApiFunction"].cold_starts,
            "verification": self.verification,
            "isolated": isolated,
            "workflow": workflow,
        }


def run(requests: int, workflow_requests: int, block: int, progress: Progress) -> dict[str, Any]:
    return IntakeBench(progress).run(requests, workflow_requests, block)
