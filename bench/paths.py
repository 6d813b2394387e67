"""(d) What one complaint costs, per path through the workflow, on the embedded stack driven as users do.

Each path is driven over HTTP to the stack's gateway (POST /complaints, the findings, approval and answer
forms at the task links read from the local mailbox), as tests/e2e drive them. Per complaint:

  state transitions  MEASURED: events whose type ends with "StateEntered" in the execution history,
                     read with boto3 from the embedded endpoint after the execution ended. Step Functions
                     STANDARD bills state transitions.
  Lambda requests    MEASURED: FunctionRuntime.invocations deltas over stack.runtimes, scheduled
                     functions (the reconciler) excluded. Duration: the handlers' wall time in this
                     process (moto answering their AWS calls), summed; not Lambda's.
  DynamoDB calls     MEASURED: the bench's call meter (bench.meter) on each function's boto3 session,
                     registered before its first cold start; a call counts when made inside a handler
                     invocation of the path (the reconciler's excluded). Request units are ESTIMATED
                     from the calls (bench.meter.request_units): items of 1 KB or less, 1 unit per item
                     read or written, 2 in transactions, queries 1 read unit per call (a lower bound: a
                     query reading more than 4 KB costs more).
  SES emails         MEASURED: sesv2/ses send calls made by the handlers, counted by the same meter.
  cost               PRICED: those counts times the dated list prices below.

Then the constant-cost claim: path (1) with the customer not answering, on two stacks whose TIME_SCALE
make the customer's 7-day wait last ~1 s and ~10 s of real time: the transition counts are compared.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from bench import fixtures
from bench.meter import Meter
from infra.stack import EmbeddedStack
from tests.support import driver

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
EXPLANATION = driver.FINDINGS  # what the e2e tests file as findings
REFUND = {
    "summary": "The bank returned the payout; we pay it again.",
    "remedy": "refund",
    "amount": "1500.00",
    "currency": "CNY",
    "customerMessage": "We are paying your withdrawal again; it reaches your bank within two days.",
}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
READS = {"GetItem", "Query", "Scan"}


# ---------------------------------------------------------------- acting as users do


class Users:
    """The people of a path, acting on the stack through its API, its mailbox and their task links
    (tests/support/driver, as the e2e tests act)."""

    def __init__(self, stack: EmbeddedStack, poll: float = driver.POLL_SECONDS):
        self.stack = stack
        self.poll = poll

    def email(self, to: str | None, *subject: str, text: str = "", nth: int = 1) -> dict[str, Any]:
        return driver.wait_for_email(self.stack, to, *subject, text=text, nth=nth, timeout=60, poll=self.poll)

    def investigator(self, accepted: dict[str, Any]) -> tuple[str, dict[str, Any], float]:
        """The investigator's link, read as soon as their email arrives (the mailbox, not the status API,
        is polled: no Lambda request is added); their department; when the email was seen."""
        people = {p.email: (dept, p) for dept, team in driver.ROSTER.items() for p in team.investigators}

        def find() -> Any:
            for m in driver.emails(self.stack, None, accepted["complaintId"]):
                for address, (dept, person) in people.items():
                    if address in m["to"] and any("/tasks/" in url for url in m["links"]):
                        return m, {"department": dept, "assignee": person.name}
            return None

        email, view = driver.wait_for(find, 60, "the investigator's email", self.poll)
        return driver.task_link(email), view, time.monotonic()

    @staticmethod
    def post(url: str, data: dict[str, str]) -> None:
        answer = requests.post(url, data=data, timeout=10)
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:200]}"

    def customer_link(self, accepted: dict[str, Any], nth: int = 1) -> str:
        return driver.customer_link(self.stack, accepted, nth, timeout=60, poll=self.poll)

    def approval_link(self, approver_email: str, accepted: dict[str, Any], nth: int = 1) -> str:
        return driver.task_link(self.email(approver_email, accepted["complaintId"], nth=nth))

    def ended(self, complaint_id: str) -> dict[str, Any]:
        return driver.wait_for_execution_end(self.stack, complaint_id, timeout=60, poll=self.poll)

    def entered(self, complaint_id: str) -> list[str]:
        return driver.states_entered(driver.history(self.stack, complaint_id))

    def clocks(self, complaint_id: str) -> dict[str, Any]:
        """The investigation clocks the execution set (real seconds), from its history."""
        for event in driver.history(self.stack, complaint_id):
            details = event.get("stateExitedEventDetails") or {}
            if details.get("name") == "Set investigation clocks":
                output = json.loads(details.get("output") or "{}")
                return next(
                    (v for v in output.values() if isinstance(v, dict) and "reminderSeconds" in v), output
                )
        return {}

    # -------------------------------------------------------- the four paths
    def path_explanation(self) -> str:
        accepted = driver.submit_payment_complaint(self.stack)
        link, _, _ = self.investigator(accepted)
        self.post(link, EXPLANATION)
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_one_approval(self) -> str:
        accepted = driver.submit_payment_complaint(self.stack)
        link, view, _ = self.investigator(accepted)
        self.post(link, REFUND)
        manager = driver.ROSTER[view["department"]].approvers["manager"]
        self.post(self.approval_link(manager.email, accepted), {"decision": "approve", "comment": "ok"})
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_reject_then_approve(self) -> str:
        accepted = driver.submit_payment_complaint(self.stack)
        link, view, _ = self.investigator(accepted)
        refund = {**REFUND, "amount": "500.00"}
        self.post(link, refund)
        team = driver.ROSTER[view["department"]]
        supervisor = team.approvers["supervisor"]
        comment = "Check the bank's return code first."
        self.post(self.approval_link(supervisor.email, accepted), {"decision": "reject", "comment": comment})
        person = next(p for p in team.investigators if p.name == view["assignee"])
        self.post(driver.task_link(self.email(person.email, text="return code")), refund)
        self.post(self.approval_link(supervisor.email, accepted, nth=2), {"decision": "approve"})
        self.post(self.customer_link(accepted), {"resolved": "yes", "rating": "5"})
        return accepted["complaintId"]

    def path_no_then_reopen(self) -> str:
        accepted = driver.submit_payment_complaint(self.stack)
        link, view, _ = self.investigator(accepted)
        self.post(link, EXPLANATION)
        self.post(self.customer_link(accepted), {"resolved": "no", "rating": "2"})
        lead = driver.ROSTER[view["department"]].lead
        self.post(
            driver.task_link(self.email(lead.email, accepted["complaintId"])),
            {**EXPLANATION, "summary": "Second look."},
        )
        self.post(self.customer_link(accepted, 2), {"resolved": "yes", "rating": "4"})
        return accepted["complaintId"]

    def path_no_answer(self) -> dict[str, Any]:
        """Path (1) with the customer never answering: the findings go in as soon as the investigator's
        email arrives; the real wait is from the customer's email to the end of the execution."""
        accepted = driver.submit_payment_complaint(self.stack)
        link, _, seen = self.investigator(accepted)
        self.post(link, EXPLANATION)
        answered_in = time.monotonic() - seen
        self.customer_link(accepted)
        asked = time.monotonic()
        execution = self.ended(accepted["complaintId"])
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

    def _invocations(self, stack: EmbeddedStack) -> dict[str, int]:
        return {n: r.invocations for n, r in stack.runtimes.items() if not r.spec.schedule_seconds}

    def run_paths(self) -> list[dict[str, Any]]:
        rows = []
        # The functions' sessions are metered; the bench's own reads go through the default session.
        with fixtures.embedded_stack(PATHS_TIME_SCALE, self.meter) as (stack, _):
            self.meter.invocations(stack)
            users = Users(stack)
            users.ended(users.path_explanation())  # warm-up: cold starts out of the figures
            time.sleep(0.5)
            self.meter.take()
            self.meter.take_invocations()
            for key, label, method in PATHS:
                self.progress(f"paths: ({key}) {label}")
                before = self._invocations(stack)
                complaint = getattr(users, method)()
                execution = users.ended(complaint)
                time.sleep(0.3)  # the answer page's own handler returns after the callback
                after = self._invocations(stack)
                calls, handler_s = self.meter.take(), self.meter.take_invocations()
                entered = users.entered(complaint)
                ops = dict(sorted(Counter(call.op for call in calls).items()))
                row = {
                    "path": key,
                    "label": label,
                    "complaint": complaint,
                    "status": execution["status"],
                    "state_transitions": len(entered),
                    "states_entered": entered,
                    "lambda_invocations": sum(after[n] - before[n] for n in after),
                    "lambda_by_function": {n: after[n] - before[n] for n in after if after[n] != before[n]},
                    "lambda_handler_s": sum(handler_s),
                    "lambda_median_ms": 1000 * statistics.median(handler_s),
                    "dynamodb_calls": sum(n for op, n in ops.items() if op.startswith("dynamodb.")),
                    "dynamodb_ops": {op: n for op, n in ops.items() if op.startswith("dynamodb.")},
                    "dynamodb_read_units": sum(call.read_units for call in calls),
                    "dynamodb_write_units": sum(call.write_units for call in calls),
                    "emails": sum(n for op, n in ops.items() if op.split(".")[0] in ("ses", "sesv2")),
                    "other_calls": {
                        op: n for op, n in ops.items() if op.split(".")[0] not in ("dynamodb", "ses", "sesv2")
                    },
                }
                row["cost_per_1000_usd"] = cost_per_1000(row)
                rows.append(row)
        return rows

    def run(self) -> dict[str, Any]:
        rows = self.run_paths()
        waits = []
        for scale in (FAST_SCALE, SLOW_SCALE):
            self.progress(f"paths: customer never answers, TIME_SCALE {scale:g}")
            with fixtures.embedded_stack(scale, self.meter) as (stack, _):
                self.meter.invocations(stack)
                users = Users(stack, poll=0.1)
                result = users.path_no_answer()
                entered = users.entered(result["complaint"])
                clocks = users.clocks(result["complaint"])
            self.meter.take()
            self.meter.take_invocations()
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
            "AWS calls by the bench's call meter (botocore hooks) inside handler invocations",
            "prices_as_of": PRICES_AS_OF,
            "paths_time_scale": PATHS_TIME_SCALE,
            "paths": rows,
            "waits": waits,
        }


def run(progress: Progress) -> dict[str, Any]:
    return PathsBench(progress).run()
