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


def test_the_api_writes_json_access_logs_to_a_log_group_with_a_retention(template):
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    logical_id, attribute = setting["DestinationArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    group = template["Resources"][logical_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert 1 <= _retention(template, group["Properties"]) <= 3653
    fields = json.loads(setting["Format"])  # one JSON object per request
    assert {"requestId", "status", "resourcePath", "httpMethod"} <= set(fields)
    assert fields["requestId"] == "$context.requestId"


def _api_logging_account(template: dict[str, Any], choice: str) -> dict[str, Any] | None:
    evaluator = Evaluator(template, ApiGatewayCloudWatchRole=choice)
    accounts = [
        res
        for res in resources(template, "AWS::ApiGateway::Account").values()
        if "Condition" not in res or evaluator.condition(res["Condition"])
    ]
    assert len(accounts) <= 1
    return accounts[0] if accounts else None


def test_the_stack_sets_the_regions_api_gateway_logging_role_only_when_asked(template):
    """API Gateway writes access logs with one role per account and region (its account settings):
    `create` makes it and keeps it when the stack goes (other APIs of the region use it); `existing`
    leaves the region's role as it is."""
    assert _api_logging_account(template, "existing") is None
    account = _api_logging_account(template, "create")
    assert account is not None and account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    assert role["DeletionPolicy"] == "Retain"
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}


def _depends_on(template: dict[str, Any], source: str, target: str, seen: set[str] | None = None) -> bool:
    """Whether CloudFormation creates `target` before `source` (DependsOn, Ref, GetAtt, Sub)."""
    seen = seen if seen is not None else set()
    if source in seen:
        return False
    seen.add(source)
    resource = template["Resources"][source]
    text = json.dumps(resource)
    referenced = {
        name
        for name in template["Resources"]
        if f'"Ref": "{name}"' in text or f'["{name}",' in text or f"${{{name}" in text
    }
    depends = resource.get("DependsOn", [])
    referenced |= set(depends if isinstance(depends, list) else [depends])
    return target in referenced or any(_depends_on(template, r, target, seen) for r in referenced)


def test_the_stage_is_created_after_the_logging_role_is_set(template):
    """Else API Gateway refuses the access log setting: no CloudWatch Logs role ARN in its settings yet."""
    (stage,) = resources(template, "AWS::ApiGateway::Stage")
    (account,) = resources(template, "AWS::ApiGateway::Account")
    assert _depends_on(template, stage, account)


def test_signed_ops_requests_invoke_the_function_with_the_apis_permission(template):
    """SAM's default for AWS_IAM routes invokes the function with the caller's credentials
    (`arn:aws:iam::*:user/*`): an assumed role (SSO) is refused and every ops user would need
    lambda:InvokeFunction. InvokeRole NONE: the API's own permission on the function, as for the rest."""
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            assert "credentials" not in operation["x-amazon-apigateway-integration"], f"{method} {path}"
    permissions = resources(template, "AWS::Lambda::Permission").values()
    invoked = {json.dumps(p["Properties"]["FunctionName"]) for p in permissions}
    assert json.dumps({"Ref": "OpsFunction"}) in invoked


PUBLIC_ROUTES = {
    ("get", "/"),
    ("post", "/complaints"),
    ("get", "/complaints/{complaint_id}"),
    # The complainant's messages and files: the access code, checked by the function, is their key.
    ("post", "/complaints/{complaint_id}/messages"),
    ("post", "/complaints/{complaint_id}/uploads"),
    ("get", "/complaints/{complaint_id}/uploads/{upload_id}"),
    ("post", "/complaints/{complaint_id}/uploads/{upload_id}"),
    ("get", "/swagger"),
    ("get", "/tasks/{link_id}"),
    ("post", "/tasks/{link_id}"),
}


def test_every_route_needs_a_signed_request_but_the_public_ones(template):
    """The form, the status pages, the API docs and the email links are public by design (the links carry
    an HMAC signature); every other route, and any route added later, needs SigV4 (AWS_IAM)."""
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    routes = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            (security,) = operation["security"]
            (routes[(method, path)],) = security
    assert {route for route, scheme in routes.items() if scheme == "NONE"} == PUBLIC_ROUTES
    assert {scheme for route, scheme in routes.items() if route not in PUBLIC_ROUTES} == {"AWS_IAM"}
