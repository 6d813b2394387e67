"""Task tokens on moto's Step Functions interpreter answer as on AWS (moto_hooks (6)), in-process (mock_aws)
and in server mode: a token whose task timed out, was answered already or whose execution is over gets
TaskTimedOut; a live token works as before.

AWS's answer in those cases is TaskTimedOut, HTTP 400, "Task Timed Out: 'Provided task does not exist
anymore'" (SendTaskSuccess API reference: "The task token has either expired or the task associated with the
token has already been closed"); a token that was never issued is InvalidToken ("The provided token is not
valid")."""

from __future__ import annotations

import json
import queue
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.config import default_user_config
from moto.moto_api._internal.models import moto_api_backend
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerError,
    CallbackConsumerLeft,
    CallbackConsumerTimeout,
)
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from infra import moto_hooks

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "ParkToken"
TASK_GONE = "Task Timed Out: 'Provided task does not exist anymore'"

# The shape of the product's waits: a callback task whose timeout comes from the input, a Catch of
# States.Timeout that goes on to a second wait (the "reminder"), then a Wait that keeps the execution running.
DEFINITION = {
    "StartAt": "Wait for answer",
    "States": {
        "Wait for answer": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": FUNCTION,
                "Payload": {"step": "first", "token.$": "$$.Task.Token"},
            },
            "TimeoutSecondsPath": "$.timeoutSeconds",
            "ResultPath": "$.answer",
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Wait again"}],
            "Next": "Linger",
        },
        "Wait again": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": FUNCTION,
                "Payload": {"step": "again", "token.$": "$$.Task.Token"},
            },
            "TimeoutSeconds": 60,
            "ResultPath": "$.answer",
            "Next": "Linger",
        },
        "Linger": {"Type": "Wait", "SecondsPath": "$.lingerSeconds", "End": True},
    },
}


@dataclass
class StepFunctions:
    sfn: Any
    machine_arn: str
    tokens: queue.Queue  # (step, token), as the task's Lambda got them

    def start(self, timeout_seconds: int = 60, linger_seconds: int = 0) -> str:
        payload = {"timeoutSeconds": timeout_seconds, "lingerSeconds": linger_seconds}
        return self.sfn.start_execution(stateMachineArn=self.machine_arn, input=json.dumps(payload))[
            "executionArn"
        ]

    def token(self, step: str) -> str:
        got_step, token = self.tokens.get(timeout=15)
        assert got_step == step
        return token

    def status(self, execution: str) -> str:
        return self.sfn.describe_execution(executionArn=execution)["status"]

    def history(self, execution: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution)["events"]

    def wait_for(self, execution: str, predicate: Callable[[dict], bool], what: str) -> dict:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = [event for event in self.history(execution) if predicate(event)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {what} in the history of {execution}")

    def stop_running(self) -> None:
        running = self.sfn.list_executions(stateMachineArn=self.machine_arn, statusFilter="RUNNING")
        for execution in running["executions"]:
            self.sfn.stop_execution(executionArn=execution["executionArn"])

    def wait_until_done(self, execution: str) -> dict:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"{execution} still running")


def _provision(client: Callable[[str], Any]) -> StepFunctions:
    tokens: queue.Queue = queue.Queue()
    moto_hooks.register_function(
        FUNCTION, lambda name, event: tokens.put((event["step"], event["token"])) or {}
    )
    role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client("lambda").create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="x.handler", Code={"ZipFile": b"zip"}
    )
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name="tokens", definition=json.dumps(DEFINITION), roleArn=role)[
        "stateMachineArn"
    ]
    return StepFunctions(sfn, arn, tokens)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["mock_aws", "server"])
def stepfunctions(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[StepFunctions]:
    """moto with real executions, as the tests use it (mock_aws) and as `make run` does (a server)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_hooks.install()
    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    if request.param == "mock_aws":
        with mock_aws(config=config):
            stepfunctions = _provision(lambda service: boto3.client(service, region_name=REGION))
            yield stepfunctions
            stepfunctions.stop_running()
        return
    port = _free_port()
    monkeypatch.setenv("MOTO_PORT", str(port))  # the interpreter calls Lambda there
    endpoint = f"http://127.0.0.1:{port}"
    server = moto_hooks.start_server("127.0.0.1", port)
    with mock.patch.dict(default_user_config):  # the config request below changes it for the process
        try:
            configure = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
                f"{endpoint}/moto-api/config", data=json.dumps(config).encode(), method="POST"
            )
            with urllib.request.urlopen(configure, timeout=10) as answer:  # noqa: S310
                answer.read()
            stepfunctions = _provision(
                lambda service: boto3.client(service, region_name=REGION, endpoint_url=endpoint)
            )
            yield stepfunctions
            stepfunctions.stop_running()
        finally:
            server.stop()
            moto_api_backend.reset()


def _issued(token: str) -> tuple[Any, Any]:
    """(environment, callback endpoint) of the execution that issued the token (as moto_hooks (6))."""
    issued = moto_hooks._issued(stepfunctions_parser_backends[ACCOUNT][REGION], token)
    assert issued is not None, (
        "moto_hooks (6) finds no execution that issued this token: has moto moved "
        "StepFunctionsParserBackend._get_executions or Execution.exec_worker.env.callback_pool_manager?"
    )
    return issued


def _mark(token: str) -> CallbackConsumerError | None:
    """The mark moto_hooks (6) left on the token's endpoint (None: open)."""
    return _issued(token)[1].consumer_error


def _refused(send: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as refused:
        send(**kwargs)
    return refused.value


def _assert_task_timed_out(sfn: Any, token: str) -> None:
    for send, kwargs in (
        (sfn.send_task_success, {"output": json.dumps({"late": True})}),
        (sfn.send_task_failure, {"error": "Late", "cause": "too late"}),
        (sfn.send_task_heartbeat, {}),
    ):
        error = _refused(send, taskToken=token, **kwargs)
        assert isinstance(error, sfn.exceptions.TaskTimedOut), error.response
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error.response["Error"] == {"Code": "TaskTimedOut", "Message": TASK_GONE}


def test_a_token_whose_task_timed_out_gets_task_timed_out(stepfunctions: StepFunctions):
    sfn = stepfunctions.sfn
    execution = stepfunctions.start(timeout_seconds=1)
    first = stepfunctions.token("first")

    second = stepfunctions.token("again")  # the first wait timed out and the Catch went on

    assert isinstance(_mark(first), CallbackConsumerTimeout)
    _assert_task_timed_out(sfn, first)
    timed_out = stepfunctions.wait_for(execution, lambda e: e["type"] == "TaskTimedOut", "TaskTimedOut")
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in stepfunctions.history(execution)
        if "Entered" in e["type"]
    ]
    assert entered == ["Wait for answer", "Wait again"]
    assert stepfunctions.status(execution) == "RUNNING"

    sfn.send_task_success(taskToken=second, output=json.dumps({"findings": "ok"}))

    done = stepfunctions.wait_until_done(execution)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output["answer"] == {"findings": "ok"}
    assert output["timeout"]["Error"] == "States.Timeout"


def test_an_answered_token_cannot_be_answered_again(stepfunctions: StepFunctions):
    sfn = stepfunctions.sfn
    execution = stepfunctions.start(linger_seconds=30)
    token = stepfunctions.token("first")

    sfn.send_task_success(taskToken=token, output=json.dumps({"n": 1}))
    stepfunctions.wait_for(execution, lambda e: e["type"] == "WaitStateEntered", "Linger entered")

    assert stepfunctions.status(execution) == "RUNNING"  # the token is closed, not its execution
    assert isinstance(_mark(token), CallbackConsumerLeft)
    _assert_task_timed_out(sfn, token)
    succeeded = [e for e in stepfunctions.history(execution) if e["type"] == "TaskSucceeded"]
    assert [json.loads(e["taskSucceededEventDetails"]["output"]) for e in succeeded] == [{"n": 1}]


def test_an_answered_failure_cannot_be_answered_again(stepfunctions: StepFunctions):
    sfn = stepfunctions.sfn
    execution = stepfunctions.start()
    token = stepfunctions.token("first")

    sfn.send_task_failure(taskToken=token, error="Refused", cause="no")

    assert stepfunctions.wait_until_done(execution)["status"] == "FAILED"
    _assert_task_timed_out(sfn, token)


def test_a_token_of_a_stopped_execution_gets_task_timed_out(stepfunctions: StepFunctions):
    sfn = stepfunctions.sfn
    execution = stepfunctions.start()
    token = stepfunctions.token("first")

    sfn.stop_execution(executionArn=execution)

    # moto shows ABORTED only once the execution's thread ends (when the task's 60 s are out), but its program
    # stops at once: the token is refused from then on.
    env, _ = _issued(token)
    assert not env.is_running()
    _assert_task_timed_out(sfn, token)


def test_a_live_token_is_answered_and_the_execution_goes_on_with_its_output(stepfunctions: StepFunctions):
    sfn = stepfunctions.sfn
    execution = stepfunctions.start()
    token = stepfunctions.token("first")
    assert _mark(token) is None

    sfn.send_task_success(taskToken=token, output=json.dumps({"findings": "upheld"}))

    done = stepfunctions.wait_until_done(execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["answer"] == {"findings": "upheld"}
    assert [e["type"] for e in stepfunctions.history(execution)].count("TaskSucceeded") == 1


def test_a_token_never_issued_is_invalid(stepfunctions: StepFunctions):
    stepfunctions.start()
    stepfunctions.token("first")  # a live execution with a waiting task
    sfn = stepfunctions.sfn

    for send, kwargs in (
        (sfn.send_task_success, {"output": "{}"}),
        (sfn.send_task_failure, {}),
        (sfn.send_task_heartbeat, {}),
    ):
        error = _refused(send, taskToken="never-issued", **kwargs)
        assert isinstance(error, sfn.exceptions.InvalidToken), error.response


@pytest.mark.parametrize(
    ("fault", "raised"), [("ThrottlingException", "CallbackFailed"), ("TaskTimedOut", "TaskGone")]
)
def test_an_injected_fault_reaches_the_products_callbacks_as_its_domain_error(monkeypatch, fault, raised):
    """(9) The next SendTaskSuccess fails with the AWS error armed; the product's adapter turns it into
    its domain error (kept answer), and the token itself is untouched."""
    from botocore.config import Config

    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.core import errors

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    moto_hooks.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # the stack's Step Functions
        client = boto3.client(
            "stepfunctions", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
        )
        moto_hooks.inject_fault("SendTaskSuccess", fault)
        try:
            with pytest.raises(getattr(errors, raised)):
                StepFunctionsCallbacks(client).succeed("any-token", {"findings": {}})
        finally:
            moto_hooks.clear_faults()


def test_a_definition_is_parsed_once_and_each_execution_runs_its_own_program(
    stepfunctions: StepFunctions, monkeypatch: pytest.MonkeyPatch
):
    """moto_hooks (11): moto parsed the whole definition with ANTLR for every execution (0.15-0.3 s of
    CPU for the product's). The program is kept; each execution runs a copy of it."""
    from moto.stepfunctions.parser.backend import execution_worker

    assert getattr(execution_worker.ExecutionWorker._get_evaluation_entrypoint, "parsed_once", False), (
        "moto_hooks (11) is not installed on ExecutionWorker._get_evaluation_entrypoint"
    )
    parsed: list[str] = []
    parse = execution_worker.AmazonStateLanguageParser.parse
    monkeypatch.setattr(
        execution_worker.AmazonStateLanguageParser,
        "parse",
        staticmethod(lambda definition: parsed.append(definition) or parse(definition)),
    )
    monkeypatch.setattr(moto_hooks, "_programs", {})  # as if no execution of this definition had run
    programs: list = []
    entrypoint = execution_worker.ExecutionWorker._get_evaluation_entrypoint
    monkeypatch.setattr(
        execution_worker.ExecutionWorker,
        "_get_evaluation_entrypoint",
        lambda worker: programs.append(entrypoint(worker)) or programs[-1],
    )

    executions = [
        stepfunctions.sfn.start_execution(
            stateMachineArn=stepfunctions.machine_arn,
            name=f"run-{n}",
            input=json.dumps({"timeoutSeconds": 60, "lingerSeconds": 0}),
        )["executionArn"]
        for n in range(3)
    ]
    tokens = [stepfunctions.token("first") for _ in executions]
    # Each runs on its own: answering one leaves the others waiting.
    stepfunctions.sfn.send_task_success(taskToken=tokens[0], output=json.dumps({"n": 0}))
    deadline = time.monotonic() + 15
    while "SUCCEEDED" not in (statuses := [stepfunctions.status(e) for e in executions]):
        assert time.monotonic() < deadline, statuses
        time.sleep(0.05)
    assert sorted(statuses) == ["RUNNING", "RUNNING", "SUCCEEDED"]

    assert len(parsed) == 1
    kept = set(map(id, moto_hooks._programs.values()))
    assert len(programs) == 3 and len({id(program) for program in programs} - kept) == 3
