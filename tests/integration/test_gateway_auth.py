"""The ops routes are closed to anonymous requests: in the cloud by AWS_IAM on the API routes
(template.yaml), on the local stack by the gateway asking for the ops token in its place."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from cfnlint.decode import cfn_yaml
from werkzeug.test import Client

from infra import template
from infra.gateway import OPS_COOKIE, Gateway
from tests.integration.conftest import STAGE, Aws, StageClient

TOKEN = "local-ops-token-3f9a1c"


@pytest.fixture
def gateway(aws: Aws) -> Client:
    return StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token=TOKEN))


@pytest.fixture
def seeded(aws: Aws) -> str:
    """A complaint submitted (anonymously, as the public does) and triaged into a work queue."""
    answer = aws.http.post(
        "/complaints",
        json={"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."},
    )
    assert answer.status_code == 202
    complaint_id = answer.get_json()["complaintId"]
    aws.invoke("TriageFunction", {"complaintId": complaint_id})
    return complaint_id


def ops_invocations(aws: Aws) -> int:
    return aws.runtimes["OpsFunction"].invocations


def test_the_console_without_the_token_is_refused_before_the_handler_runs(aws: Aws, gateway: Client, seeded):
    for path in ("/ops", "/ops/api/queue", f"/ops/executions/{seeded}"):
        answer = gateway.get(path)
        assert answer.status_code == 403, path
        assert answer.get_json() == {"message": "Missing Authentication Token"}
        assert seeded not in answer.get_data(as_text=True)
    assert ops_invocations(aws) == 0


def test_the_console_with_the_bearer_token_lists_the_cases(aws: Aws, gateway: Client, seeded):
    answer = gateway.get("/ops", headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.get_data(as_text=True)
    assert "ops console" in page
    assert f'<tr data-complaint="{seeded}"' in page
    assert "No open cases." not in page
    assert ops_invocations(aws) == 1

    data = gateway.get("/ops/api/queue", headers={"Authorization": f"Bearer {TOKEN}"})
    assert data.status_code == 200
    assert [entry["complaintId"] for entry in data.get_json()] == [seeded]

    # Every JSON view answers, with the ops function's own role.
    for view in ("approvals", "attention", "alerts", "executions", "report"):
        answer = gateway.get(f"/ops/api/{view}", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, (view, answer.get_data(as_text=True))
    report = gateway.get("/ops/api/report?days=7", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert report["received"] == 1, report


def test_the_token_link_becomes_an_http_only_cookie_that_then_opens_the_console(
    aws: Aws, gateway: Client, seeded
):
    answer = gateway.get("/ops", query_string={"token": TOKEN})

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/{STAGE}/ops"  # the token leaves the address bar
    assert ops_invocations(aws) == 0
    (set_cookie,) = answer.headers.getlist("Set-Cookie")
    cookie = SimpleCookie(set_cookie)[OPS_COOKIE]
    assert cookie.value == TOKEN
    assert cookie["httponly"]
    assert cookie["path"] == f"/{STAGE}/ops"
    assert cookie["samesite"] == "Strict"

    # The client keeps the cookie, as a browser does: no token in the request any more.
    page = gateway.get("/ops")
    assert page.status_code == 200
    assert seeded in page.get_data(as_text=True)
    assert gateway.get("/ops/api/queue").status_code == 200
    assert ops_invocations(aws) == 2


@pytest.mark.parametrize(
    "credentials",
    [
        {"headers": {"Authorization": "Bearer wrong-token"}},
        {"headers": {"Authorization": f"Bearer {TOKEN[:-1]}"}},
        {"headers": {"Authorization": "Bearer "}},
        {"query_string": {"token": "wrong-token"}},
        {"query_string": {"token": ""}},
    ],
)
def test_a_wrong_token_is_refused(aws: Aws, gateway: Client, credentials):
    answer = gateway.get("/ops", **credentials)

    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers
    assert ops_invocations(aws) == 0


def test_a_wrong_cookie_is_refused(aws: Aws, gateway: Client):
    gateway.set_cookie(OPS_COOKIE, "wrong-token", path=f"/{STAGE}/ops")

    assert gateway.get("/ops").status_code == 403
    assert ops_invocations(aws) == 0


def test_without_a_token_configured_nothing_opens_the_console(aws: Aws):
    closed = StageClient(Gateway(aws.runtimes, aws.tpl.stages))  # ops_token ""

    for credentials in ({"headers": {"Authorization": "Bearer "}}, {"query_string": {"token": ""}}, {}):
        assert closed.get("/ops", **credentials).status_code == 403
    assert ops_invocations(aws) == 0


def test_public_routes_need_no_token(aws: Aws, gateway: Client):
    assert gateway.get(f"/{STAGE}/", headers={"Accept": "text/html"}).status_code == 200
    submitted = gateway.post(
        "/complaints", json={"customer": {"email": "a@example.com"}, "description": "Bonus not credited"}
    )
    assert submitted.status_code == 202
    accepted = submitted.get_json()
    status = gateway.get(
        f"/complaints/{accepted['complaintId']}", query_string={"code": accepted["accessCode"]}
    )
    assert status.status_code == 200
    assert gateway.get("/swagger").status_code == 200


# ------------------------------------------------------------------ the cloud side


def api_events() -> list[tuple[str, str, str, dict]]:
    """(function, method, path, properties) of every Api event in template.yaml."""
    document = cfn_yaml.load(str(template.ROOT / "template.yaml"))
    found = []
    for name, resource in document["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                found.append((name, props["Method"].upper(), props["Path"], props))
    return found


def test_every_ops_route_in_the_template_needs_iam_auth():
    ops_routes = [event for event in api_events() if event[2] == "/ops" or event[2].startswith("/ops/")]

    assert {(method, path) for _, method, path, _ in ops_routes} == {
        ("GET", "/ops"),
        ("GET", "/ops/executions/{name}"),
        ("GET", "/ops/api/{view}"),
        ("POST", "/ops/complaints"),  # staff filing for a customer (the intake function)
    }
    for function, method, path, props in ops_routes:
        assert props.get("Auth", {}).get("Authorizer") == "AWS_IAM", (function, method, path)


def test_the_local_gateway_guards_the_same_routes_the_template_does():
    tpl = template.load()
    guarded = {route for spec in tpl.functions.values() for route in spec.iam_routes}
    every = {route for spec in tpl.functions.values() for route in spec.api_routes}

    assert guarded == {(method, path) for method, path in every if path.startswith("/ops")}
    assert ("GET", "/") in every - guarded
    assert ("POST", "/complaints") in every - guarded
