"""The running embedded stack (`python -m infra`, what `make run` starts), driven over HTTP as a user
would, with AWS state read through boto3 from its endpoint."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from tests import permissions
from tests.support import driver
from tests.support.driver import free_port, wait_for

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
# The fixtures below that start a stack. Under `pytest -n N --dist loadgroup` (what `make test` runs) every
# test that uses one of them is put in that fixture's xdist group, so all its tests run on one worker, one
# after another, against one stack: no stack starts more often than in a serial run, and the tests that
# break a stack on purpose (delete a table, an email identity) never overlap on it.
STACK_FIXTURES = ("cli_stack", "stack", "fast_stack", "quicker_stack")  # the first a test uses groups it
LOG_TAIL_LINES = 80


@dataclass
class Stack:
    base_url: str  # the embedded stack's root: /health and the local pages (/_local/...)
    aws_endpoint: str
    port: int
    aws_port: int
    log_path: Path
    started_in: float

    @cached_property
    def outputs(self) -> dict[str, str]:
        """The stack's outputs (what `sam deploy` would print)."""
        return requests.get(f"{self.base_url}/_local/stack", timeout=10).json()

    @property
    def api_url(self) -> str:
        """The API, under its stage, as the stack's outputs name it (what a browser or the CLI uses)."""
        return self.outputs["ApiUrl"]

    @property
    def smtp(self) -> tuple[str, int]:
        """Where the stack receives email (host, port), as the banner and the outputs name it."""
        host, _, port = self.outputs["SmtpAddress"].rpartition(":")
        return host, int(port)

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
        return driver.state_machine_arn(self)

    def execution_arn(self, complaint_id: str) -> str:
        return driver.execution_arn(self, complaint_id)

    def mailbox(self) -> list[dict]:
        return driver.mailbox(self)

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


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py writes the groups down for the scheduler
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in STACK_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(name))
                break


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed e2e test shows the end of its stack's log (which lives in a per-worker temp dir)."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Stack) and value.log_path.exists():
                tail = value.logs().splitlines()[-LOG_TAIL_LINES:]
                report.sections.append(
                    (f"stack log, last {len(tail)} lines of {value.log_path}", "\n".join(tail))
                )
    return report


class _PortLost(Exception):
    """Another process took a port between free_port() and the stack binding it."""


@contextmanager
def running_stack(log_dir: Path, time_scale: float) -> Iterator[Stack]:
    """`python -m infra` on free ports, as `make run` starts it; stopped with Ctrl-C (SIGINT) after.

    free_port() can only promise a port that was free a moment ago: in the seconds the stack takes to start,
    another process on the machine (another xdist worker's stack or client) may take it. The stack then
    exits saying the port is taken, and it is started again on other ports, at most twice more."""
    for attempt in range(3):
        log_path = log_dir / ("stack.log" if attempt == 0 else f"stack.{attempt}.log")
        try:
            with _started_stack(log_path, time_scale) as running:
                yield running
            return
        except _PortLost:
            continue
    raise AssertionError(f"no free ports for the stack after 3 tries; see {log_dir}")


@contextmanager
def _started_stack(log_path: Path, time_scale: float) -> Iterator[Stack]:
    port, aws_port, smtp_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_PORT": str(aws_port),
        "SMTP_PORT": str(smtp_port),
        "TIME_SCALE": str(time_scale),
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get(permissions.ENV):  # the functions' permission checks, for tests/permissions.py
        env["IAM_RECORD_FILE"] = str(Path(os.environ[permissions.ENV]) / f"stack-{port}-{os.getpid()}.jsonl")
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            output = log_path.read_text()
            if process.returncode == 1 and "is taken" in output:
                raise _PortLost(output)
            raise AssertionError(f"the stack exited with {process.returncode}:\n{output}")
        try:
            answer = requests.get(f"{base_url}/health", timeout=1)
        except requests.ConnectionError:
            return False
        if answer.status_code == 200 and answer.json().get("awsEndpoint") != f"http://127.0.0.1:{aws_port}":
            # Another stack (another worker's) got this port between free_port() and our bind: ours can
            # never serve here. Start again on other ports.
            process.kill()
            process.wait()
            raise _PortLost(f"port {port} answers for another stack")
        return answer.status_code == 200

    try:
        wait_for(healthy, timeout=START_LIMIT_SECONDS, what="/health")
        yield Stack(
            base_url, f"http://127.0.0.1:{aws_port}", port, aws_port, log_path, time.monotonic() - started
        )
    finally:
        if process.poll() is None:  # not when it was killed for another stack's port (_PortLost)
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
def cli_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Another stack as `make run` starts it, for the `complaints` command's tests: they run on their
    own worker beside the other tests of `stack` instead of after them."""
    with running_stack(tmp_path_factory.mktemp("cli"), 3600) as running:
        yield running


@pytest.fixture(scope="session")
def fast_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose policy clock runs a million times faster: every human wait lasts a second."""
    with running_stack(tmp_path_factory.mktemp("fast"), 1_000_000) as running:
        yield running


@pytest.fixture(scope="session")
def quicker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """50,000 policy seconds per second: a P4 investigator (5 business days) still has several seconds
    before the reminder, the customer's 7 days last about 12 seconds, and a question to the complainant
    (5 business days, then 2 after the reminder) about 17."""
    with running_stack(tmp_path_factory.mktemp("quicker"), 50_000) as running:
        yield running


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
