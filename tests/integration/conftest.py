"""Handlers against moto (in-process, mock_aws), with the resources of template.yaml.

Requests go through the local API gateway's WSGI app with werkzeug's test client, so each request is a
real API Gateway proxy event for the real handler."""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from moto import mock_aws
from werkzeug.test import Client

from infra import moto_hooks, template
from infra.gateway import Gateway
from infra.lambdas import FunctionRuntime
from infra.stack import provision
from tests import permissions

REGION = "us-east-1"
STAGE = "prod"
BASE_URL = f"http://localhost/{STAGE}"  # the API under its stage, as werkzeug's test client reaches it
SERVICES = ("intake", "acknowledge", "reconcile", "record-failure", "email-intake")


class StageClient(Client):
    """werkzeug's test client for the API: a path like "/complaints" is requested under the stage, as
    API Gateway serves it ("/prod/complaints"); "/_local/..." and a path that already names the stage are
    requested as they are."""

    def open(self, path: Any = "/", *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and path.startswith("/") and not path.startswith(("/_local", f"/{STAGE}/")):
            path = f"/{STAGE}{path}"
        return super().open(path, *args, **kwargs)


@functools.cache
def _client(service: str) -> Any:
    """One client per service for every test of a worker: mock_aws intercepts a client made in an earlier
    test's mock as well (its state is reset between tests), and a new client would build its service model
    again (a third of the time provisioning took)."""
    return boto3.client(service, region_name=REGION)


@functools.cache
def _template() -> template.LocalTemplate:
    """template.yaml through the SAM transform, once per worker (0.1 s each): provision reads it, and binds
    a copy with each test's physical ids."""
    return template.load(region=REGION)


@functools.cache
def _resource(service: str) -> Any:
    """One resource per service for every test of a worker, as `_client` (a resource costs ~20 ms)."""
    return boto3.resource(service, region_name=REGION)


@dataclass
class Aws:
    tpl: template.LocalTemplate
    runtimes: dict[str, FunctionRuntime]
    http: Client

    def client(self, service: str, **kwargs: Any) -> Any:
        return boto3.client(service, region_name=REGION, **kwargs) if kwargs else _client(service)

    def resource(self, service: str) -> Any:
        return _resource(service)

    @property
    def table(self) -> Any:
        return _resource("dynamodb").Table("CasesTable")

    @property
    def state_machine_arn(self) -> str:
        machine = next(iter(self.tpl.state_machines.values()))
        return f"arn:aws:states:{REGION}:{template.ACCOUNT}:stateMachine:{machine.name}"

    def items(self, kind: str | None = None) -> list[dict]:
        items = self.table.scan()["Items"]  # tests may scan; request paths never do
        return [item for item in items if kind is None or item.get("kind") == kind]

    def case(self, complaint_id: str) -> dict:
        return self.table.get_item(Key={"pk": f"CASE#{complaint_id}", "sk": "CASE"})["Item"]

    def invoke(self, function: str, event: dict) -> Any:
        return self.runtimes[function].invoke(event)

    def executions(self) -> list[dict]:
        return self.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn)[
            "executions"
        ]

    def sent_emails(self) -> list[dict]:
        from infra import mailbox

        return mailbox.messages(template.ACCOUNT, REGION)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_hooks.install()
    if os.environ.get(permissions.ENV):  # the functions' permission checks, for tests/permissions.py
        moto_hooks.record_to(str(Path(os.environ[permissions.ENV]) / f"integration-{os.getpid()}.jsonl"))
    with mock_aws(config={"lambda": {"use_docker": False}}):
        tpl = _template()
        runtimes = provision(
            tpl,
            _client,
            {"POWERTOOLS_TRACE_DISABLED": "true", "TIME_SCALE": "1e9"},
        )
        yield Aws(tpl, runtimes, StageClient(Gateway(runtimes, tpl.stages)))


class _Collector(logging.Handler):
    """Formats each record with the Powertools formatter of its logger (which holds the appended keys)."""

    def __init__(self, buffer: io.StringIO):
        super().__init__()
        self.buffer = buffer

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        formatter = next(
            (
                h.formatter
                for h in logger.handlers
                if h is not self and isinstance(h.formatter, LambdaPowertoolsFormatter)
            ),
            LambdaPowertoolsFormatter(),
        )
        self.buffer.write(formatter.format(record) + "\n")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the functions' Powertools loggers write, as they format it."""
    buffer = io.StringIO()
    handler = _Collector(buffer)
    loggers = [logging.getLogger(name) for name in SERVICES]
    for logger in loggers:
        logger.addHandler(handler)
    yield buffer
    for logger in loggers:
        logger.removeHandler(handler)
