"""`make run`'s own life: what the banner says about the data, a restart on the same ports right after a
stop, a port another program listens on, and what a stop does to requests in progress. Each test starts and
stops `python -m infra` itself, as a person does, so they share no stack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, START_LIMIT_SECONDS
from tests.support.driver import free_port, wait_for

# Stacks of their own, started and stopped on purpose: on one worker, one after another, beside the others.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

IDLE_STOP_SECONDS = 1.0  # the README: Ctrl-C stops an idle stack in under a second
COMPLAINT = {
    "customer": {"email": "li.wei@example.com", "locale": "zh-CN"},
    "channel": "api",
    "description": "My withdrawal of 150 CNY has not arrived after three days.",
    "amount": {"value": "150.00", "currency": "CNY"},
}


@dataclass
class Process:
    process: subprocess.Popen
    port: int
    aws_port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/prod"

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def interrupt(self, timeout: float = 15) -> float:
        """Ctrl-C (SIGINT); the seconds until the process ended, which it must do with 0."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the stack did not stop on Ctrl-C:\n{self.output()[-3000:]}") from None
        assert code == 0, f"the stack exited with {code} on Ctrl-C:\n{self.output()[-3000:]}"
        return time.monotonic() - sent


def launch(log_path: Path, port: int, aws_port: int) -> Process:
    """`python -m infra` as `make run` starts it (see tests/e2e/conftest.py), on the ports given."""
    env = {**os.environ, "PORT": str(port), "AWS_PORT": str(aws_port), "TIME_SCALE": "3600"}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("IAM_RECORD_FILE", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Process(process, port, aws_port, log_path)


def wait_healthy(stack: Process) -> None:
    def healthy() -> bool:
        if stack.process.poll() is not None:
            raise AssertionError(f"the stack exited with {stack.process.returncode}:\n{stack.output()}")
        try:
            return requests.get(f"{stack.base_url}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(healthy, timeout=START_LIMIT_SECONDS, what=f"/health on port {stack.port}")
    wait_for(lambda: "Ctrl-C stops it" in stack.output(), timeout=10, what="the banner")


@contextmanager
def started(log_path: Path, port: int | None = None, aws_port: int | None = None) -> Iterator[Process]:
    """A healthy stack, killed after the block if the test has not stopped it."""
    stack = launch(log_path, port or free_port(), aws_port or free_port())
    try:
        wait_healthy(stack)
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
            stack.process.wait()


def submit() -> dict:
    """A complaint from a customer of its own (a repeat of an open complaint is answered otherwise)."""
    return {**COMPLAINT, "customer": {"email": f"li.wei.{uuid.uuid4().hex[:8]}@example.com"}}


def time_wait_ports() -> set[int]:
    """Local ports of TCP connections in TIME_WAIT (Linux's /proc/net/tcp)."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _remote, state = line.split()[1:4]
        if state == "06":
            ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def read_to_close(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def closed_by_the_server(port: int, path: str) -> bytes:
    """GET `path`, and read until the server closes the connection: its side of it, the one that closed
    first, then stays in TIME_WAIT for a minute."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        return read_to_close(connection)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads TIME_WAIT sockets from /proc")
def test_a_restart_on_the_same_ports_right_after_ctrl_c_works(tmp_path: Path):
    with started(tmp_path / "first.log") as first:
        accepted = requests.post(f"{first.api_url}/complaints", json=submit(), timeout=10)
        assert accepted.status_code == 202
        assert closed_by_the_server(first.port, "/health").startswith(b"HTTP/1.1 200")
        assert closed_by_the_server(first.aws_port, "/moto-api/").startswith(b"HTTP/1.1 200")
        assert requests.get(accepted.json()["statusUrl"], timeout=10).status_code == 200
        stopped_in = first.interrupt()
    assert {first.port, first.aws_port} <= time_wait_ports()  # what made the probe say "taken"

    restarted = time.monotonic()
    with started(tmp_path / "second.log", first.port, first.aws_port) as second:
        started_in = time.monotonic() - restarted
        assert "is taken" not in second.output()
        # Nothing of the first run is left: its case answers as a wrong link does.
        assert requests.get(accepted.json()["statusUrl"], timeout=10).status_code == 404
        idle_stop = second.interrupt()
    print(f"stop after use {stopped_in:.2f}s, restart {started_in:.2f}s, idle stop {idle_stop:.2f}s")
    assert idle_stop < IDLE_STOP_SECONDS


@pytest.mark.parametrize("what", ["HTTP gateway", "AWS endpoint"])
def test_a_port_another_program_listens_on_is_refused_with_the_message(tmp_path: Path, what: str):
    with socket.socket() as other:
        # As a server binds (werkzeug, http.server): the probe must refuse the port all the same.
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        ports = (taken, free_port()) if what == "HTTP gateway" else (free_port(), taken)
        env = {"PORT": str(ports[0]), "AWS_PORT": str(ports[1]), "PATH": "/usr/bin:/bin"}
        run = subprocess.run(
            [sys.executable, "-m", "infra"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 1
    assert f"Port {taken} ({what}) is taken" in run.stderr


def body_of(document: dict) -> bytes:
    return json.dumps(document).encode()


def slow_submission(port: int, body: bytes) -> socket.socket:
    """A POST /prod/complaints whose body has come only half: the gateway is in the middle of it."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=20)
    connection.sendall(
        (
            f"POST /prod/complaints HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[: len(body) // 2]
    )
    return connection


def rest_and_answer(connection: socket.socket, body: bytes) -> bytes:
    with connection:
        connection.sendall(body[len(body) // 2 :])
        return read_to_close(connection)


def test_ctrl_c_lets_a_request_in_progress_finish_and_answers_new_ones_503(tmp_path: Path):
    with started(tmp_path / "stack.log") as stack:
        body = body_of(submit())
        slow = slow_submission(stack.port, body)
        time.sleep(0.5)  # the gateway has read the headers and waits for the rest of the body
        sent = time.monotonic()
        stack.process.send_signal(signal.SIGINT)
        wait_for(lambda: "request(s) in progress" in stack.output(), timeout=5, what="the stop to begin")

        refused = requests.post(f"{stack.api_url}/complaints", json=submit(), timeout=10)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert stack.process.poll() is None  # still waiting for the slow one

        answer = rest_and_answer(slow, body)
        assert answer.startswith(b"HTTP/1.1 202"), answer[:300]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["complaintId"]
        assert stack.process.wait(timeout=5) == 0
        print(f"stopped {time.monotonic() - sent:.2f}s after Ctrl-C")


def test_the_banner_says_the_data_lives_in_memory_and_a_second_ctrl_c_stops_at_once(tmp_path: Path):
    with started(tmp_path / "stack.log") as stack:
        assert "in memory" in stack.output()
        assert "gone when it stops" in stack.output()
        body = body_of(submit())
        slow = slow_submission(stack.port, body)
        time.sleep(0.5)  # the gateway has read the headers and waits for the rest of the body
        stack.process.send_signal(signal.SIGINT)
        wait_for(lambda: "request(s) in progress" in stack.output(), timeout=5, what="the stop to begin")
        assert stack.interrupt(timeout=3) < 3
        slow.close()


def test_ctrl_c_during_a_burst_leaves_no_request_without_an_answer(tmp_path: Path):
    """Complaints keep coming while Ctrl-C stops the stack (each client sends its next one as soon as it has
    an answer, until a 503): each is accepted (202), refused with 503 and Retry-After, or finds the port
    closed; none is cut off (a reset, an empty reply, a 502)."""
    outcomes: list[tuple[float, float, str]] = []  # (sent, answered, what)
    with started(tmp_path / "stack.log") as stack:
        url = f"{stack.api_url}/complaints"

        def keep_submitting() -> None:
            while True:
                sent = time.monotonic()
                try:
                    answer = requests.post(url, json=submit(), timeout=20)
                except requests.ConnectionError as error:
                    refused = "Connection refused" in str(error)  # the port is closed: nothing was sent
                    outcomes.append((sent, time.monotonic(), "refused" if refused else repr(error)))
                    return
                what = str(answer.status_code)
                if answer.status_code == 503:
                    what += f" Retry-After {answer.headers.get('Retry-After')}"
                outcomes.append((sent, time.monotonic(), what))
                if answer.status_code == 503:
                    return  # back in Retry-After seconds, as a client should: the stack is gone by then

        with ThreadPoolExecutor(max_workers=12) as pool:
            for _ in range(12):
                pool.submit(keep_submitting)
            wait_for(lambda: len(outcomes) >= 6, timeout=15, what="the burst to get going")
            interrupted = time.monotonic()
            stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=15) == 0

    kinds = Counter(what for _, _, what in outcomes)
    print(f"{len(outcomes)} requests: {dict(kinds)}")
    assert set(kinds) <= {"202", "503 Retry-After 5", "refused"}, kinds
    in_progress_at_ctrl_c = [w for sent, answered, w in outcomes if sent < interrupted < answered]
    assert "202" in in_progress_at_ctrl_c  # an answer after Ctrl-C to a complaint sent before it
