"""POST /complaints through the real IntakeApiFunction handler, in-process, against the embedded stack.

The handler is called directly (`stack.runtimes["IntakeApiFunction"].invoke(event)`) with API Gateway
REST proxy events, one request at a time from this thread: per-request handler time and requests per
second for one sequential client.

Its AWS calls are counted by the bench's call meter (bench.meter) on every function's own session,
registered before the stack's first invoke imports the handler module (clients copy the session's
hooks when they are created). Calls made from this thread (the handler runs in a thread that inherits
its context) belong to the request; the others (moto's state machine executions, the Acknowledge
handler they invoke, the scheduled reconciler) are counted apart.

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

import gc
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import requests
from botocore import xform_name
from botocore.exceptions import ClientError
from werkzeug.test import EnvironBuilder

from bench import fixtures
from bench.meter import Call, GcWatch, Meter, summary
from complaints.core import ids
from infra.gateway import proxy_event

EXPECTED_OPS = ["dynamodb.TransactWriteItems", "stepfunctions.StartExecution", "dynamodb.TransactWriteItems"]
Progress = Callable[[str], None]


def post_event(run: str, n: int, stage: str) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /complaints, as the stack's gateway builds it."""
    body = {
        "customer": {"email": f"bench.{n}@example.com", "locale": "en"},
        "channel": "api",
        "subject": "Card payment taken twice",
        "description": f"Bench complaint {run}-{n}: my card was charged twice for the same order and the "
        "second charge has not been refunded.",
        "amount": {"value": "150.00", "currency": "EUR"},
    }
    request = EnvironBuilder(
        path=f"/{stage}/complaints",
        method="POST",
        json=body,
        headers={"Accept": "application/json", "User-Agent": "bench"},
        base_url="http://127.0.0.1",
        environ_overrides={"REMOTE_ADDR": "127.0.0.1"},
    ).get_request()
    return proxy_event(request, "/complaints", {}, stage, "/complaints")


class Replay:
    """The handler's AWS calls for one request, made again directly with fresh ids."""

    def __init__(self, captured: list[Call], complaint_id: str, session: boto3.Session):
        self.template = [(call.op.split("."), call.params or {}) for call in captured]
        self.complaint_id = complaint_id
        writes = [item for _, params in self.template for item in params.get("TransactItems", [])]
        claims = [
            w["Put"]["Item"]["pk"] for w in writes if w.get("Put", {}).get("Item", {}).get("kind") == "claim"
        ]
        if not claims:
            raise SystemExit("bench: the captured TransactWriteItems has no intake claim")
        self.claim_key = claims[0].partition("#")[2]
        # Built like the handler's: the table resource's client (plain Python values) and a client.
        self.clients = {
            "dynamodb": session.resource("dynamodb").meta.client,
            "stepfunctions": session.client("stepfunctions"),
        }

    def prepare(self) -> list[tuple[Callable[..., Any], dict[str, Any]]]:
        new_id = ids.new_complaint_id(datetime.now(UTC))
        replacements = {self.complaint_id: new_id, self.claim_key: secrets.token_hex(32)}
        return [
            (getattr(self.clients[service], xform_name(operation)), fixtures.clone(params, replacements))
            for (service, operation), params in self.template
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


# ---------------------------------------------------------------- the bench


class IntakeBench:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.run_tag = uuid.uuid4().hex[:8]
        self._n = 0
        # This thread's calls, and the handler threads' it starts; the others' (moto's executions, the
        # reconciler's schedule) in the background. Its sessions are watched once the stack is up.
        self.calls = Meter().this_thread()
        self.gc = GcWatch()
        self.stopped: set[str] = set()
        self.stack: Any = None
        self.replay: Replay | None = None
        self.bare_lost_races = 0
        self._table: Any = None
        self.sfn: Any = None
        self.cold_start_s: float | None = None
        self.verification: dict[str, Any] = {}

    # -------------------------------------------------------- endpoint control
    def _set_execution(self, enabled: bool) -> None:
        config = {"stepfunctions": {"execute_state_machine": enabled}}
        requests.post(
            f"{self.stack.config.aws_endpoint}/moto-api/config", json=config, timeout=10
        ).raise_for_status()

    def _machine_arn(self) -> str:
        machine = next(iter(self.stack.template.state_machines.values()))
        return f"arn:aws:states:{self.stack.config.region}:123456789012:stateMachine:{machine.name}"

    def _executions(self, status: str) -> int:
        pages = self.sfn.get_paginator("list_executions")
        return sum(
            len(page["executions"])
            for page in pages.paginate(stateMachineArn=self._machine_arn(), statusFilter=status)
        )

    def _waiting_for_a_person(self, execution_arn: str) -> bool:
        """The execution has reached its first human wait (a callback task submitted): no more work."""
        events = self.sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=3)[
            "events"
        ]
        return any(event["type"] == "TaskSubmitted" for event in events)

    def _drain(self, timeout: float = 90.0) -> float:
        """Let every execution run until it waits for the investigator, then stop it (untimed), so no
        workflow work or timer of one block competes with the next."""
        start = time.perf_counter()
        while True:
            running = self.sfn.list_executions(
                stateMachineArn=self._machine_arn(), statusFilter="RUNNING", maxResults=1000
            )
            arns = [e["executionArn"] for e in running["executions"]]
            if not arns:
                break
            for arn in arns:
                if arn not in self.stopped and self._waiting_for_a_person(arn):
                    self.sfn.stop_execution(executionArn=arn, cause="bench: reached the investigator's wait")
                    self.stopped.add(arn)
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"bench: state machine executions still running after {timeout:.0f} s")
            time.sleep(0.05)
        return time.perf_counter() - start

    # -------------------------------------------------------- one request each way
    def handler_request(self) -> tuple[float, list[Call], dict[str, Any]]:
        self._n += 1
        event = post_event(self.run_tag, self._n, self.stack.template.stage)
        runtime = self.stack.runtimes["IntakeApiFunction"]
        self.calls.take()
        start = time.perf_counter()
        result = runtime.invoke(event)
        elapsed = time.perf_counter() - start
        calls = self.calls.take()
        if result.get("statusCode") != 202:
            status, body = result.get("statusCode"), result.get("body")
            raise SystemExit(f"bench: POST /complaints answered {status}: {body}")
        return elapsed, calls, json.loads(result["body"])

    def bare_request(self) -> tuple[float, list[str]]:
        assert self.replay is not None
        calls = self.replay.prepare()
        self.calls.take()
        elapsed, tolerated = self.replay.run(calls)
        self.bare_lost_races += tolerated
        return elapsed, [call.op for call in self.calls.take()]

    # -------------------------------------------------------- phases
    def warm_up(self, requests: int) -> None:
        self.progress("intake: warming up (handler cold start, parameter capture)")
        elapsed, _, _ = self.handler_request()
        self.cold_start_s = elapsed
        for _ in range(requests - 2):
            self.handler_request()
        self.calls.capturing = True
        _, captured, accepted = self.handler_request()
        self.calls.capturing = False
        ops = [call.op for call in captured]
        self.verification["handler_ops_one_request"] = ops
        self.verification["handler_calls_described"] = [call.op + call.what for call in captured]
        if ops != EXPECTED_OPS:
            raise SystemExit(f"bench: the hook counted {ops} for one request; expected {EXPECTED_OPS}")
        # Its own session, metered: the bench's other calls (draining, emptying the table) are not.
        session = boto3.Session()
        self.calls.watch(session)
        self.replay = Replay(captured, accepted["complaintId"], session)
        for _ in range(requests):
            _, bare_ops = self.bare_request()
        self.verification["bare_ops_one_request"] = bare_ops
        # The reconciler's timer fires every 5 s: take its cold start now, not inside a measurement.
        self.stack.runtimes["ReconcileFunction"].invoke({"source": "aws.scheduler", "detail": {}})
        self.calls.take()  # not a request's

    def _reset(self, executions: bool) -> int:
        """Untimed, before each half-block: let running executions finish, then empty the table.

        moto's TransactWriteItems deep-copies the whole table for every item it writes, so its cost grows
        with the table (DynamoDB's does not); emptying it keeps both sides at the same, small size."""
        if executions:
            self._drain()
        emptied = fixtures.empty(self._table)
        # What lives on now (moto's growing state above all) is long-lived: keep full collections from
        # rescanning it in whichever request they happen to hit.
        gc.collect()
        gc.freeze()
        return emptied

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
                elapsed, calls, _ = self.handler_request()
                ops = [call.op for call in calls]
                handler.append(elapsed)
                own.append(elapsed - sum(call.seconds for call in calls))
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
        with fixtures.embedded_stack(3600, self.calls) as (self.stack, startup):
            self._table = boto3.resource("dynamodb").Table(next(iter(self.stack.template.tables)))
            # One client, made now: making one reads os.environ, which cold starts in other threads change.
            self.sfn = sfn = self.stack.client("stepfunctions")
            machine = sfn.describe_state_machine(stateMachineArn=self._machine_arn())
            # Isolated: StartExecution goes to moto's plain backend, which records and runs nothing.
            self._set_execution(False)
            spec = next(iter(self.stack.template.state_machines.values()))
            sfn.create_state_machine(
                name=spec.name, definition=spec.definition, roleArn=machine["roleArn"], type=spec.type
            )
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
        self.gc.close()
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
