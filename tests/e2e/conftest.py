"""The running embedded stack (`python -m infra`, what `make run` starts), driven over HTTP as a user
would, with AWS state read through boto3 from its endpoint."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_LIMIT_SECONDS = 30  # the README promises an installed stack answers /health within this
OPS_LINK = re.compile(r"^\s*Ops console\s+(http://\S+/ops\?token=\S+)\s*$", re.MULTILINE)
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package `chromium`; `make test` installs it when missing
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    base_url: str
    aws_endpoint: str
    port: int
    aws_port: int
    log_path: Path
    started_in: float

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="anything",
            aws_secret_access_key="anything",
        )

    @property
    def state_machine_arn(self) -> str:
        return self.client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]

    def execution_arn(self, complaint_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{complaint_id}"

    def mailbox(self) -> list[dict]:
        answer = requests.get(
            f"{self.base_url}/_local/mailbox", headers={"Accept": "application/json"}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["messages"]

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def ops_link(self) -> str:
        """The ops console link the banner prints (`Ops console  http://…/ops?token=…`), as a user
        copies it from the terminal. /health answers just before the banner is printed: wait for it."""

        def printed() -> str | None:
            found = OPS_LINK.search(self.logs())
            return found.group(1) if found else None

        return wait_for(printed, timeout=10, what=f"the ops console link in the banner ({self.log_path})")

    @property
    def ops_token(self) -> str:
        return parse_qs(urlsplit(self.ops_link).query)["token"][0]


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def wait_for_email(stack: Stack, to: str, containing: str) -> dict:
    def find():
        return next((m for m in stack.mailbox() if to in m["to"] and containing in m["subject"]), None)

    return wait_for(find, what=f"an email to {to} about {containing}")


def wait_for_execution_end(stack: Stack, complaint_id: str) -> dict:
    sfn = stack.client("stepfunctions")

    def ended():
        found = sfn.describe_execution(executionArn=stack.execution_arn(complaint_id))
        return found if found["status"] != "RUNNING" else None

    return wait_for(ended, what=f"execution {complaint_id} to end")


def history(stack: Stack, complaint_id: str) -> list[dict]:
    sfn = stack.client("stepfunctions")
    return sfn.get_execution_history(executionArn=stack.execution_arn(complaint_id), maxResults=1000)[
        "events"
    ]


def states_entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


@contextmanager
def running_stack(log_dir: Path, time_scale: float) -> Iterator[Stack]:
    """`python -m infra` on free ports, as `make run` starts it; stopped with Ctrl-C (SIGINT) after."""
    port, aws_port = free_port(), free_port()
    log_path = log_dir / "stack.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_PORT": str(aws_port),
        "TIME_SCALE": str(time_scale),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the stack exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            return requests.get(f"{base_url}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(healthy, timeout=START_LIMIT_SECONDS, what="/health")
        yield Stack(
            base_url, f"http://127.0.0.1:{aws_port}", port, aws_port, log_path, time.monotonic() - started
        )
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError("the stack did not stop on Ctrl-C") from None
    assert code == 0, f"the stack exited with {code} on Ctrl-C"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack as `make run` starts it: one policy hour per real second."""
    with running_stack(tmp_path_factory.mktemp("stack"), 3600) as running:
        yield running


@pytest.fixture(scope="session")
def fast_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose policy clock runs a million times faster: every human wait lasts a second."""
    with running_stack(tmp_path_factory.mktemp("fast"), 1_000_000) as running:
        yield running


def wait_for_status(stack: Stack, accepted: dict, *statuses: str) -> dict:
    """Poll the complainant's status API until the case reaches one of `statuses`."""

    def reached():
        view = requests.get(accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()
        return view if view["status"] in statuses else None

    return wait_for(reached, what=f"{accepted['complaintId']} to reach {statuses}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's, never a browser Playwright downloads), closed after the module
    whatever happened in it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            launched.close()
