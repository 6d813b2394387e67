"""A running stack driven as its users drive it: complaints posted over HTTP, links read from the local
mailbox, the complainant's status page, and the executions read through boto3 from its AWS endpoint.

Used by tests/e2e (on `python -m infra`, as `make run` starts it) and by the bench (on an embedded stack
in its own process). A stack here (a `Site`) is anything with `base_url` (its root: /health and the local
pages), `api_url` (the API, under its stage) and `client(service)` (a boto3 client on its endpoint)."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Callable
from html import unescape
from typing import Any, Protocol

import requests

from complaints.core.rules import load_triage_policy

POLL_SECONDS = 0.2
ROSTER = load_triage_policy().roster
FINDINGS = {
    "summary": "The payout batch was held by the bank; released today.",
    "remedy": "explanation",
    "customerMessage": "Your withdrawal was delayed by the bank and has now been paid out.",
}


class Site(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def api_url(self) -> str: ...

    def client(self, service: str) -> Any: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], Any], timeout: float = 30, what: str = "condition", poll: float = POLL_SECONDS
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


# ---------------------------------------------------------------- the complainant


def submit_complaint(stack: Site, document: dict) -> dict:
    """POST /complaints; the receipt (202)."""
    answer = requests.post(f"{stack.api_url}/complaints", json=document, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()


def submit_payment_complaint(stack: Site) -> dict:
    return submit_complaint(
        stack,
        {
            "customer": {"email": f"payer.{uuid.uuid4().hex[:8]}@example.com"},
            "description": "My withdrawal of 150 CNY has not arrived after three days.",
            "references": {"transactionId": "TX-20261119-001"},
            "amount": {"value": "150.00", "currency": "CNY"},
        },
    )


def form(page: str, form_id: str) -> tuple[str, dict[str, str]]:
    """A form of the page: its action and its hidden fields, as a browser would send them."""
    found = re.search(
        rf'<form[^>]*action="([^"]+)"[^>]*id="{form_id}"|<form[^>]*id="{form_id}"[^>]*action="([^"]+)"', page
    )
    assert found, f"no form {form_id}"
    start = found.start()
    body = page[start : page.index("</form>", start)]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    return unescape(found.group(1) or found.group(2)), {k: unescape(v) for k, v in hidden.items()}


def status_view(accepted: dict) -> dict:
    """The complainant's status API, as JSON."""
    return requests.get(accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()


def wait_for_status(stack: Site, accepted: dict, *statuses: str) -> dict:
    """Poll the complainant's status API until the case reaches one of `statuses`.

    A task writes the status and its timeline event in one transaction, but a read of the local stack can
    see the status a moment before the event, and the execution history lags behind both: a test that
    checks the timeline's last event or the states entered after a status that ends the workflow waits for
    the execution to end first."""

    def reached():
        view = status_view(accepted)
        return view if view["status"] in statuses else None

    return wait_for(reached, what=f"{accepted['complaintId']} to reach {statuses}")


# ---------------------------------------------------------------- the mailbox


# What each stack's mailbox held at the last read, by its URL.
_READ: dict[str, list[dict]] = {}


def mailbox(stack: Site) -> list[dict]:
    """Every email the stack sent, oldest first. A sent email never changes, so each read asks only for what
    is new (`?after=N`) and the one before it: the mailbox of a stack many tests share grows to hundreds of
    emails, which the tests poll, and reading them all each time cost the stack and the test a whole CPU
    minute over the suite. When that one is not the one read before, the stack at this URL is another one
    (a port used again): everything is read again."""
    read = _READ.setdefault(stack.base_url, [])
    for after in (max(len(read) - 1, 0), 0):
        answer = requests.get(
            f"{stack.base_url}/_local/mailbox",
            params={"after": after},
            headers={"Accept": "application/json"},
            timeout=10,
        )
        answer.raise_for_status()
        new = answer.json()["messages"]
        if not read or (new and new[0]["id"] == read[-1]["id"]):
            read.extend(new[1:] if read else new)
            return list(read)
        read.clear()
    raise AssertionError(f"the mailbox of {stack.base_url} cannot be read")


def emails(stack: Site, to: str | None, *subject: str, text: str = "") -> list[dict]:
    """The messages to `to` (anyone: None) whose subject holds every part of `subject`, and their text
    `text`."""
    return [
        m
        for m in mailbox(stack)
        if (to is None or to in m["to"])
        and all(part in m["subject"] for part in subject)
        and text in m.get("text", "")
    ]


def wait_for_email(
    stack: Site,
    to: str | None,
    *subject: str,
    text: str = "",
    nth: int = 1,
    timeout: float = 30,
    poll: float = POLL_SECONDS,
) -> dict:
    return wait_for(
        lambda: (found := emails(stack, to, *subject, text=text)) and len(found) >= nth and found[nth - 1],
        timeout,
        f"email {nth} to {to or 'anyone'} about {' '.join(subject)} {text}".rstrip(),
        poll,
    )


def task_link(email: dict) -> str:
    """The link to a task page in an email."""
    return next(url for url in email["links"] if "/tasks/" in url)


def investigator_link(stack: Site, accepted: dict) -> tuple[str, dict]:
    view = wait_for_status(stack, accepted, "INVESTIGATING")
    person = next(p for p in ROSTER[view["department"]].investigators if p.name == view["assignee"])
    email = wait_for_email(stack, person.email, accepted["complaintId"])
    return task_link(email), view


def customer_link(stack: Site, accepted: dict, nth: int = 1, **wait: float) -> str:
    """The link in the customer's `nth` resolution email ("what we found")."""
    return task_link(wait_for_email(stack, None, accepted["complaintId"], "what we found", nth=nth, **wait))


# ---------------------------------------------------------------- the executions


def state_machine_arn(stack: Site) -> str:
    return stack.client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]


def execution_arn(stack: Site, complaint_id: str) -> str:
    return state_machine_arn(stack).replace(":stateMachine:", ":execution:") + f":{complaint_id}"


def wait_for_execution_end(
    stack: Site, complaint_id: str, timeout: float = 30, poll: float = POLL_SECONDS
) -> dict:
    sfn = stack.client("stepfunctions")
    arn = execution_arn(stack, complaint_id)

    def ended():
        found = sfn.describe_execution(executionArn=arn)
        return found if found["status"] != "RUNNING" else None

    return wait_for(ended, timeout, f"execution {complaint_id} to end", poll)


def history(stack: Site, complaint_id: str) -> list[dict]:
    sfn = stack.client("stepfunctions")
    kwargs: dict[str, Any] = {"executionArn": execution_arn(stack, complaint_id), "maxResults": 1000}
    events: list[dict] = []
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def states_entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
