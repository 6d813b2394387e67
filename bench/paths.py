"""(d) What one complaint costs, per path through the workflow, on the embedded stack driven as users do.

Each path is driven over HTTP to the stack's gateway (POST /complaints, the findings, approval and answer
forms at the task links read from the local mailbox), as tests/e2e drive them. Per complaint:

  state transitions  MEASURED: events whose type ends with "StateEntered" in the execution history,
                     read with boto3 from the embedded endpoint after the execution ended. Step Functions
                     STANDARD bills state transitions.
  Lambda requests    MEASURED: FunctionRuntime.invocations deltas over stack.runtimes, scheduled
                     functions (the reconciler) excluded. Duration: the handlers' wall time in this
                     process (moto answering their AWS calls), summed; not Lambda's.
  DynamoDB calls     MEASURED: a botocore before-call hook on each function's boto3 session, registered
                     before its first cold start; a call counts when made inside a handler invocation of
                     the path (the reconciler's thread excluded). Request units are ESTIMATED from the calls:
                     items of 1 KB or less, 1 unit per item read or written, 2 in transactions, queries
                     1 read unit per call (a lower bound: a query reading more than 4 KB costs more).
  SES emails         MEASURED: sesv2/ses send calls made by the handlers, counted by the same hook.
  cost               PRICED: those counts times the dated list prices below.

Then the constant-cost claim: path (1) with the customer not answering, on two stacks whose TIME_SCALE
make the customer's 7-day wait last ~1 s and ~10 s of real time: the transition counts are compared.
"""

from __future__ import annotations

import contextvars
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import requests
from moto.moto_api._internal.models import moto_api_backend

from bench.intake import free_port
from complaints.core.rules import load_triage_policy
from infra.stack import EmbeddedStack, StackConfig

Progress = Callable[[str], None]

# ---------------------------------------------------------------- prices (PRICED, not measured)
# us-east-1 list prices, at or before 2026-11; check the AWS pricing pages before quoting.
PRICES_AS_OF = "2026-11 (us-east-1; check the AWS pricing pages)"
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM64_PER_GB_S = 0.0000133334
LAMBDA_MEMORY_GB = 512 / 1024
DDB_PER_WRU = 0.625 / 1_000_000
DDB_PER_RRU = 0.125 / 1_000_000
SES_PER_EMAIL = 0.10 / 1000

PATHS_TIME_SCALE = 3600  # one policy hour per second, as the e2e tests' stack: no wait runs out
CUSTOMER_WAIT_DAYS = 7
FAST_SCALE, SLOW_SCALE = 604_800, 60_480  # the customer's 7 days last 1 s and 10 s
TX = "TX-20261119-001"
EXPLANATION = {
    "summary": "The payout batch was held by the bank; released today.",
    "remedy": "explanation",
    "customerMessage": "Your withdrawal was delayed by the bank and has now been paid out.",
}
REFUND = {
    "summary": "The bank returned the payout; we pay it again.",
    "remedy": "refund",
    "amount": "1500.00",
    "currency": "CNY",
    "customerMessage": "We are paying your withdrawal again; it reaches your bank within two days.",
}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
READS = {"GetItem", "Query", "Scan"}


# ---------------------------------------------------------------- measuring


class Meter:
    """botocore hooks on each function's boto3 session (its execution role's, which every client its
    handler makes carries) and a wrapper round each runtime's invoke: the AWS calls made inside handler
    invocations (by operation, with transaction/batch item counts) and handler time."""

    def __init__(self) -> None:
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar("bench_invocation_depth", default=0)
        self._lock = threading.Lock()
        self.ops: Counter[str] = Counter()
        self.read_units = 0.0
        self.write_units = 0.0
        self.handler_s: list[float] = []

    def wrap(self, stack: EmbeddedStack) -> None:
        for runtime in stack.runtimes.values():
            if runtime.spec.schedule_seconds:
                continue
            events = runtime.session.events  # before the first invocation: its cold start makes the clients
            events.register("provide-client-params", self._params, unique_id="bench-paths-params")
            events.register("before-call", self._before_call, unique_id="bench-paths-before-call")
            runtime.invoke = self._timed(runtime.invoke)  # type: ignore[method-assign]

    def _timed(self, invoke: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def timed(event: Any) -> Any:
            token = self._depth.set(self._depth.get() + 1)  # the handler's thread runs in this context
            started = time.perf_counter()
            try:
                return invoke(event)
            finally:
                self._depth.reset(token)
                with self._lock:
                    self.handler_s.append(time.perf_counter() - started)

        return timed

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self._depth.get() or model.service_model.service_name != "dynamodb":
            return
        name = model.name
        read, write = 0.0, 0.0
        if name in WRITES:
            write = 1
        elif name == "TransactWriteItems":
            write = 2 * len(params.get("TransactItems", []))
        elif name == "BatchWriteItem":
            write = sum(len(v) for v in params.get("RequestItems", {}).values())
        elif name in READS:
            read = 1 if params.get("ConsistentRead") else 0.5
        elif name == "TransactGetItems":
            read = 2 * len(params.get("TransactItems", []))
        elif name == "BatchGetItem":
            read = sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        with self._lock:
            self.read_units += read
            self.write_units += write

    def _before_call(self, model: Any, **_: Any) -> None:
        if self._depth.get():
            with self._lock:
                self.ops[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> dict[str, Any]:
        with self._lock:
            taken = {
                "ops": dict(sorted(self.ops.items())),
                "read_units": self.read_units,
                "write_units": self.write_units,
                "handler_s": list(self.handler_s),
            }
            self.ops, self.read_units, self.write_units, self.handler_s = Counter(), 0.0, 0.0, []
        return taken


# ---------------------------------------------------------------- acting as users do


class Driver:
    def __init__(self, stack: EmbeddedStack, sfn: Any, poll: float = 0.2):
        self.stack = stack
        self.base = stack.config.base_url  # the stack's root: the local pages
        self.api = stack.api_url  # the API, under its stage
        self.sfn = sfn
        self.poll = poll
        self.roster = load_triage_policy().roster
        arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        self.execution_prefix = arn.replace(":stateMachine:", ":execution:") + ":"

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(self.poll)

    def mailbox(self) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{self.base}/_local/mailbox", headers={"Accept": "application/json"}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["messages"]

    def emails(self, to: str | None, *subject: str, text: str = "") -> list[dict[str, Any]]:
        return [
            m
            for m in self.mailbox()
            if (to is None or to in m["to"])
            and all(part in m["subject"] for part in subject)
            and text in m.get("text", "")
        ]

    def email(self, to: str | None, *subject: str, text: str = "", nth: int = 1) -> dict[str, Any]:
        return self.wait_for(
            lambda: (found := self.emails(to, *subject, text=text)) and len(found) >= nth and found[nth - 1],
            f"email {nth} to {to} about {subject} {text}",
        )

    @staticmethod
    def link(email: dict[str, Any]) -> str:
        return next(url for url in email["links"] if "/tasks/" in url)

    def status(self, accepted: dict[str, Any]) -> dict[str, Any]:
        return requests.get(accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()

    def submit(self) -> dict[str, Any]:
        answer = requests.post(
            f"{self.api}/complaints",
            json={
                "customer": {"email": f"payer.{uuid.uuid4().hex[:8]}@example.com"},
                "description": "My withdrawal of 150 CNY has not arrived after three days.",
                "references": {"transactionId": TX},
                "amount": {"value": "150.00", "currency": "CNY"},
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        return answer.json()

    def investigator(self, accepted: dict[str, Any]) -> tuple[str, dict[str, Any], float]:
        """The investigator's link, read as soon as their email arrives (the mailbox, not the status API,
        is polled: no Lambda request is added); their department; when the email was seen."""
        people = {p.email: (dept, p) for dept, team in self.roster.items() for p in team.investigators}

        def find() -> Any:
            for m in self.emails(None, accepted["complaintId"]):
                for address, (dept, person) in people.items():
                    if address in m["to"] and any("/tasks/" in url for url in m["links"]):
                        return m, {"department": dept, "assignee": person.name}
            return None

        email, view = self.wait_for(find, "the investigator's email")
        return self.link(email), view, time.monotonic()

    def post(self, url: str, data: dict[str, str]) -> None:
        answer = requests.post(url, data=data, timeout=10)
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"

    def customer_link(self, accepted: dict[str, Any], nth: int = 1) -> str:
        return self.link(self.email(None, accepted["complaintId"], "what we found", nth=nth))

    def approval_link(self, approver_email: str, accepted: dict[str, Any], nth: int = 1) -> str:
        return self.link(self.email(approver_email, accepted["complaintId"], nth=nth))

    def ended(self, complaint_id: str, timeout: float = 60) -> dict[str, Any]:
        arn = self.execution_prefix + complaint_id
        return self.wait_for(
            lambda: (e := self.sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and e,
            f"execution {complaint_id} to end",
            timeout,
        )

    def history(self, complaint_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_prefix + complaint_id, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return events

    def entered(self, complaint_id: str) -> list[str]:
        events = self.history(complaint_id)
        return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]

    def clocks(self, complaint_id: str) -> dict[str, Any]:
        """The investigation clocks the execution set (real seconds), from its history."""
        for event in self.history(complaint_id):
            details = event.get("stateExitedEventDetails") or {}
            if details.get("name") == "Set investigation clocks":
                output = json.loads(details.get("output") or "{}")
                return next(
                    (v for v in output.values() if isinstance(v, dict) and "reminderSeconds" in v), output
                )
        return {}

    # -------------------------------------------------------- the four paths
    def path_explanation(self) -> str:
        accepted = self.submit()
        link, _, _ = self.investigator(accepted)
        self.post(link, EXPLANATION)
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_one_approval(self) -> str:
        accepted = self.submit()
        link, view, _ = self.investigator(accepted)
        self.post(link, REFUND)
        manager = self.roster[view["department"]].approvers["manager"]
        self.post(self.approval_link(manager.email, accepted), {"decision": "approve", "comment": "ok"})
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_reject_then_approve(self) -> str:
        accepted = self.submit()
        link, view, _ = self.investigator(accepted)
        refund = {**REFUND, "amount": "500.00"}
        self.post(link, refund)
        supervisor = self.roster[view["department"]].approvers["supervisor"]
        comment = "Check the bank's return code first."
        self.post(self.approval_link(supervisor.email, accepted), {"decision": "reject", "comment": comment})
        person = next(p for p in self.roster[view["department"]].investigators if p.name == view["assignee"])
        self.post(self.link(self.email(person.email, text="return code")), refund)
        self.post(self.approval_link(supervisor.email, accepted, nth=2), {"decision": "approve"})
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_no_then_reopen(self) -> str:
        accepted = self.submit()
        link, view, _ = self.investigator(accepted)
        self.post(link, EXPLANATION)
        self.post(self.customer_link(accepted), {"resolved": "no", "rating": "2"})
        lead = self.roster[view["department"]].lead
        self.post(
            self.link(self.email(lead.email, accepted["complaintId"])),
            {**EXPLANATION, "summary": "Second look."},
        )
        self.post(self.customer_link(accepted, 2), {"resolved": "yes", "rating": "4"})
        return accepted["complaintId"]

    def path_no_answer(self) -> dict[str, Any]:
        """Path (1) with the customer never answering: the findings go in as soon as the investigator's
        email arrives; the real wait is from the customer's email to the end of the execution."""
        accepted = self.submit()
        link, _, seen = self.investigator(accepted)
        self.post(link, EXPLANATION)
        answered_in = time.monotonic() - seen
        self.customer_link(accepted)
        asked = time.monotonic()
        execution = self.ended(accepted["complaintId"], timeout=60)
        waited = time.monotonic() - asked
        return {
            "complaint": accepted["complaintId"],
            "execution": execution,
            "customer_wait_real_s": waited,
            "investigator_answered_in_s": answered_in,
        }


PATHS = (
    ("1", "explanation, no approval; customer yes", "path_explanation"),
    ("2", "refund 1500 CNY, manager approves; yes", "path_one_approval"),
    ("3", "refund 500, supervisor rejects, re-submitted, approves; yes", "path_reject_then_approve"),
    ("4", "explanation; customer no; lead re-submits; yes", "path_no_then_reopen"),
)


def cost_per_1000(row: dict[str, Any]) -> dict[str, float]:
    lambda_requests = LAMBDA_PER_REQUEST * row["lambda_invocations"]
    lambda_duration = LAMBDA_ARM64_PER_GB_S * LAMBDA_MEMORY_GB * row["lambda_handler_s"]
    parts = {
        "step_functions": SFN_STANDARD_PER_TRANSITION * row["state_transitions"],
        "lambda_requests": lambda_requests,
        "lambda_duration": lambda_duration,
        "dynamodb": DDB_PER_RRU * row["dynamodb_read_units"] + DDB_PER_WRU * row["dynamodb_write_units"],
        "ses": SES_PER_EMAIL * row["emails"],
    }
    parts = {name: 1000 * usd for name, usd in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


class PathsBench:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.meter = Meter()
        self.own = boto3.session.Session()  # this bench's own reads, not counted

    def _stack(self, time_scale: float) -> tuple[EmbeddedStack, Driver]:
        moto_api_backend.reset()  # earlier sections' (and stacks') resources live in this process
        stack = EmbeddedStack(StackConfig(port=free_port(), aws_port=free_port(), time_scale=time_scale))
        stack.start()
        self.meter.wrap(stack)
        sfn = self.own.client(
            "stepfunctions", endpoint_url=stack.config.aws_endpoint, region_name=stack.config.region
        )
        return stack, Driver(stack, sfn)

    def _invocations(self, stack: EmbeddedStack) -> dict[str, int]:
        return {n: r.invocations for n, r in stack.runtimes.items() if not r.spec.schedule_seconds}

    def run_paths(self) -> list[dict[str, Any]]:
        stack, driver = self._stack(PATHS_TIME_SCALE)
        rows = []
        try:
            driver.ended(driver.path_explanation())  # warm-up: cold starts out of the figures
            time.sleep(0.5)
            self.meter.take()
            for key, label, method in PATHS:
                self.progress(f"paths: ({key}) {label}")
                before = self._invocations(stack)
                complaint = getattr(driver, method)()
                execution = driver.ended(complaint)
                time.sleep(0.3)  # the answer page's own handler returns after the callback
                after = self._invocations(stack)
                metered = self.meter.take()
                entered = driver.entered(complaint)
                ops = metered["ops"]
                row = {
                    "path": key,
                    "label": label,
                    "complaint": complaint,
                    "status": execution["status"],
                    "state_transitions": len(entered),
                    "states_entered": entered,
                    "lambda_invocations": sum(after[n] - before[n] for n in after),
                    "lambda_by_function": {n: after[n] - before[n] for n in after if after[n] != before[n]},
                    "lambda_handler_s": sum(metered["handler_s"]),
                    "lambda_median_ms": 1000 * statistics.median(metered["handler_s"]),
                    "dynamodb_calls": sum(n for op, n in ops.items() if op.startswith("dynamodb.")),
                    "dynamodb_ops": {op: n for op, n in ops.items() if op.startswith("dynamodb.")},
                    "dynamodb_read_units": metered["read_units"],
                    "dynamodb_write_units": metered["write_units"],
                    "emails": sum(n for op, n in ops.items() if op.split(".")[0] in ("ses", "sesv2")),
                    "other_calls": {
                        op: n for op, n in ops.items() if op.split(".")[0] not in ("dynamodb", "ses", "sesv2")
                    },
                }
                row["cost_per_1000_usd"] = cost_per_1000(row)
                rows.append(row)
        finally:
            stack.stop()
        return rows

    def run(self) -> dict[str, Any]:
        rows = self.run_paths()
        waits = []
        for scale in (FAST_SCALE, SLOW_SCALE):
            self.progress(f"paths: customer never answers, TIME_SCALE {scale:g}")
            stack, driver = self._stack(scale)
            driver.poll = 0.1
            try:
                result = driver.path_no_answer()
                entered = driver.entered(result["complaint"])
                clocks = driver.clocks(result["complaint"])
            finally:
                stack.stop()
            self.meter.take()
            waits.append(
                {
                    "time_scale": scale,
                    "customer_wait_policy_days": CUSTOMER_WAIT_DAYS,
                    "customer_wait_expected_real_s": CUSTOMER_WAIT_DAYS * 86400 / scale,
                    "customer_wait_real_s": result["customer_wait_real_s"],
                    "status": result["execution"]["status"],
                    "state_transitions": len(entered),
                    "states_entered": entered,
                    "investigator_reminders": entered.count("Wait for investigator") - 1,
                    "investigator_clocks": clocks,
                    "investigator_answered_in_s": result["investigator_answered_in_s"],
                }
            )
        return {
            "method": "paths driven over HTTP on an in-process EmbeddedStack (moto reset before each stack); "
            "transitions from the execution history, Lambda requests from FunctionRuntime.invocations, "
            "AWS calls by a botocore before-call hook inside handler invocations",
            "prices_as_of": PRICES_AS_OF,
            "paths_time_scale": PATHS_TIME_SCALE,
            "paths": rows,
            "waits": waits,
        }


def run(progress: Progress) -> dict[str, Any]:
    return PathsBench(progress).run()
