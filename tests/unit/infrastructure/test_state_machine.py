"""Static checks of the case state machine: every task is bounded in time, retried on Lambda's
transient errors and caught into "Record failure", and the definition and template agree."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from infra.template import ROOT, load

ASL = ROOT / "statemachine" / "complaint.asl.json"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",  # throttled: a new account's concurrency can be 10
}
RECORD_FAILURE = "Record failure"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(ROOT / "template.yaml"))


@pytest.fixture(scope="module")
def machine_id(template) -> str:
    machines = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
    ]
    assert len(machines) == 1
    return machines[0]


@pytest.fixture(scope="module")
def definition(machine_id) -> dict[str, Any]:
    """The definition as the local stack deploys it, substitutions resolved."""
    return json.loads(load().state_machines[machine_id].definition)


def _collections(machine: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level States and those nested in Parallel branches and Map processors."""
    yield machine
    for state in machine["States"].values():
        for branch in state.get("Branches", []):
            yield from _collections(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _collections(state[key])


def _all_states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for collection in _collections(machine):
        yield from collection["States"].items()


def _tasks(machine: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, state) for name, state in _all_states(machine) if state["Type"] == "Task"]


def _targets(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    targets += [choice["Next"] for choice in state.get("Choices", []) if "Next" in choice]
    if "Default" in state:
        targets.append(state["Default"])
    return targets


def test_the_definition_has_tasks(definition):
    assert len(_tasks(definition)) >= 2


def test_every_task_has_a_timeout(definition):
    for name, state in _tasks(definition):
        assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, name
        if "TimeoutSeconds" in state:
            assert 0 < state["TimeoutSeconds"] <= 900, name


def test_every_lambda_task_retries_lambdas_transient_errors(definition):
    lambda_tasks = [
        (name, state) for name, state in _tasks(definition) if state["Resource"].startswith(LAMBDA_INVOKE)
    ]
    assert lambda_tasks

    for name, state in lambda_tasks:
        retriers = [r for r in state.get("Retry", []) if LAMBDA_TRANSIENT & set(r["ErrorEquals"])]
        assert len(retriers) == 1, name
        (retrier,) = retriers
        assert set(retrier["ErrorEquals"]) == LAMBDA_TRANSIENT, name
        assert len(retrier["ErrorEquals"]) == len(LAMBDA_TRANSIENT), name
        assert retrier["IntervalSeconds"] == 2, name
        assert retrier["MaxAttempts"] == 6, name
        assert retrier["BackoffRate"] == 2, name


def test_no_retrier_retries_every_error(definition):
    # A States.ALL retrier would retry a MailRejected or a bug six times before anyone hears of it.
    for name, state in _tasks(definition):
        for retrier in state.get("Retry", []):
            assert "States.ALL" not in retrier["ErrorEquals"], name


def _leads_to_record_failure(states: dict[str, Any], target: str) -> bool:
    seen = set()
    while target not in seen:
        seen.add(target)
        if target == RECORD_FAILURE:
            return True
        state = states[target]
        if state["Type"] != "Pass" or "Next" not in state:
            return False
        target = state["Next"]
    return False


def test_every_task_but_record_failure_is_caught_into_record_failure(definition):
    states = definition["States"]
    assert states[RECORD_FAILURE]["Type"] == "Task"

    for name, state in states.items():
        if name == RECORD_FAILURE or state["Type"] not in ("Task", "Parallel", "Map"):
            continue
        catch_all = [c for c in state.get("Catch", []) if c["ErrorEquals"] == ["States.ALL"]]
        assert catch_all, f"{name} has no Catch of States.ALL"
        assert _leads_to_record_failure(states, catch_all[-1]["Next"]), name
        # The complaint id must survive the catch: the error goes beside the input, not over it.
        assert catch_all[-1].get("ResultPath", "$") not in ("$", None), name


def test_the_failure_path_hands_record_failure_the_complaint_id_and_the_error(definition):
    states = definition["States"]
    for name, state in states.items():
        for catcher in state.get("Catch", []):
            target = states[catcher["Next"]]
            if target["Type"] == "Pass" and target.get("Next") == RECORD_FAILURE:
                parameters = target["Parameters"]
                assert parameters["complaintId.$"] == "$.complaintId", name
                assert parameters["state"] == name
                assert parameters["error.$"] == catcher["ResultPath"], name


def test_record_failure_ends_the_execution_as_failed(definition):
    states = definition["States"]
    assert states[states[RECORD_FAILURE]["Next"]]["Type"] == "Fail"


def test_every_transition_target_exists(definition):
    for collection in _collections(definition):
        states = collection["States"]
        assert collection["StartAt"] in states
        for name, state in states.items():
            for target in _targets(state):
                assert target in states, f"{name} -> {target}"


def test_every_non_terminal_state_says_where_to_go(definition):
    for name, state in _all_states(definition):
        if state["Type"] in ("Succeed", "Fail") or state.get("End") is True:
            continue
        assert state["Type"] != "Choice" or "Choices" in state, name
        assert _targets(state), f"{name} has neither Next nor End"


def test_every_state_is_reachable_from_start(definition):
    for collection in _collections(definition):
        states = collection["States"]
        reached, pending = set(), [collection["StartAt"]]
        while pending:
            name = pending.pop()
            if name not in reached:
                reached.add(name)
                pending.extend(_targets(states[name]))
        assert reached == set(states), f"unreachable: {set(states) - reached}"


def test_substitutions_in_the_definition_and_the_template_agree(template, machine_id):
    used = set(re.findall(r"\$\{([^}]+)\}", ASL.read_text(encoding="utf-8")))
    provided = set(template["Resources"][machine_id]["Properties"].get("DefinitionSubstitutions", {}))

    assert used, "the definition names no function"
    assert used - provided == set(), "used in the definition but not provided by the template"
    assert provided - used == set(), "provided by the template but not used in the definition"


def test_the_substituted_function_arns_name_the_template_functions(definition, template):
    functions = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    for name, state in _tasks(definition):
        if state["Resource"] == LAMBDA_INVOKE:
            arn = state["Parameters"]["FunctionName"]
            assert arn.startswith("arn:aws:lambda:"), name
            assert arn.rsplit(":", 1)[1] in functions, name


TIMED_OUT = {"States.Timeout", "Sandbox.Timedout"}  # the task's TimeoutSeconds; the function's own Timeout


def test_every_step_retries_a_timeout_with_backoff_but_no_human_wait_does(definition):
    """A step that timed out under load is run again (each is safe to repeat: conditional writes, and a
    timed-out invocation's later calls never reach AWS), with jittered backoff, before the case goes to
    NEEDS_ATTENTION. A person's wait timing out is an escalation: never retried."""
    for name, state in _tasks(definition):
        retried = [r for r in state.get("Retry", []) if TIMED_OUT & set(r["ErrorEquals"])]
        if state["Resource"].endswith(".waitForTaskToken"):
            assert not retried, name
            continue
        assert len(retried) == 1, name
        (retrier,) = retried
        assert set(retrier["ErrorEquals"]) == TIMED_OUT, name
        assert retrier["MaxAttempts"] >= 2 and retrier["BackoffRate"] >= 2, name
        assert retrier.get("JitterStrategy") == "FULL", name
