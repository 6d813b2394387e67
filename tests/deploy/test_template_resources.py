"""What CloudFormation creates for the API and the logs, read from the transformed template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.transform import Evaluator, resources, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed()


def test_the_api_has_one_stage(template):
    """Without Globals.Api.OpenApiVersion SAM's deployment also creates a public stage named "Stage"."""
    assert len(resources(template, "AWS::ApiGateway::Stage")) == 1
    for name, deployment in resources(template, "AWS::ApiGateway::Deployment").items():
        assert "StageName" not in deployment["Properties"], f"{name} creates a second stage"


def _log_groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """LogGroupName (as written, intrinsics unresolved) -> properties."""
    groups = resources(template, "AWS::Logs::LogGroup").values()
    return {json.dumps(group["Properties"]["LogGroupName"]): group["Properties"] for group in groups}


def _retention(template: dict[str, Any], properties: dict[str, Any]) -> int:
    return int(Evaluator(template).value(properties["RetentionInDays"]))


def test_every_function_logs_to_a_log_group_of_the_stack_with_a_retention(template):
    groups = _log_groups(template)
    for function in resources(template, "AWS::Lambda::Function"):
        name = json.dumps({"Fn::Sub": f"/aws/lambda/${{{function}}}"})
        assert name in groups, f"{function} has no log group of the stack (it would keep its logs forever)"
        assert 1 <= _retention(template, groups[name]) <= 3653


def test_the_state_machine_logs_with_a_retention(template):
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    logical_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert 1 <= _retention(template, template["Resources"][logical_id]["Properties"]) <= 3653
