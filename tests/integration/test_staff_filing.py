"""POST /ops/complaints against moto: staff file a phone or chat complaint for a customer, through the
local gateway (the ops token standing for a signed request) and as API Gateway's AWS_IAM route hands it to
the function; the case records the signer's identity, the complainant's status page does not show it."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from infra.gateway import OPS_PRINCIPAL, Gateway, proxy_event
from tests.integration.conftest import STAGE, Aws, StageClient

TOKEN = "local-ops-token-staff-7c21"
SIGNED = {"Authorization": f"Bearer {TOKEN}"}
LOCAL_AGENT = OPS_PRINCIPAL["userArn"]
CALL = {
    "customer": {"email": "wang.fang@example.com", "name": "Wang Fang", "phone": "+86 138 0013 8000"},
    "channel": "phone",
    "description": "My withdrawal of 300 CNY has been pending for five days.",
    "amount": {"value": "300.00", "currency": "CNY"},
}


@pytest.fixture
def gateway(aws: Aws) -> Client:
    return StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token=TOKEN))


def intake_invocations(aws: Aws) -> int:
    return aws.runtimes["IntakeApiFunction"].invocations


def received_event(aws: Aws, complaint_id: str) -> dict:
    events = [e for e in aws.items("event") if e["pk"] == f"CASE#{complaint_id}" and e["type"] == "RECEIVED"]
    (event,) = events
    return event


def test_staff_file_a_phone_complaint_recorded_with_the_agent_and_its_workflow_started(aws: Aws, gateway):
    answer = gateway.post("/ops/complaints", json=CALL, headers=SIGNED)

    assert answer.status_code == 202, answer.get_data(as_text=True)
    accepted = answer.get_json()
    complaint_id = accepted["complaintId"]
    assert accepted["status"] == "RECEIVED"
    assert accepted["statusUrl"].startswith(f"http://localhost/{STAGE}/complaints/{complaint_id}?code=")
    case = aws.case(complaint_id)
    assert case["channel"] == "phone" and case["filed_by"] == LOCAL_AGENT
    assert case["customer"]["name"] == "Wang Fang"
    assert received_event(aws, complaint_id)["params"] == {"channel": "phone", "agent": LOCAL_AGENT}
    assert [x["name"] for x in aws.executions()] == [complaint_id]

    # The complainant's status page: "by phone with our agent", and nothing of who.
    status = aws.http.get(f"/complaints/{complaint_id}", headers={"X-Access-Code": accepted["accessCode"]})
    assert status.status_code == 200
    assert status.get_json()["timeline"][0]["detail"] == "Complaint received by phone with our agent."
    page = aws.http.get(
        f"/complaints/{complaint_id}?code={accepted['accessCode']}", headers={"Accept": "text/html"}
    )
    for shown in (status.get_data(as_text=True), page.get_data(as_text=True)):
        assert "arn:" not in shown and "local-ops" not in shown
    assert "with our agent" in page.get_data(as_text=True)


def test_the_identity_is_the_one_api_gateway_puts_in_the_event_for_the_signer(aws: Aws):
    """On AWS the function gets requestContext.identity from API Gateway's SigV4 check: an SSO user's
    assumed-role session ARN here."""
    agent = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Support_0a1b2c/mei.chen@example.com"
    signer = {
        "accountId": "123456789012",
        "caller": "AROAEXAMPLEID:mei.chen@example.com",
        "user": "AROAEXAMPLEID:mei.chen@example.com",
        "userArn": agent,
        "accessKey": "ASIAEXAMPLEKEY",
    }
    builder = EnvironBuilder(method="POST", path=f"/{STAGE}/ops/complaints", json={**CALL, "channel": "chat"})
    request = Request(builder.get_environ())

    signed = aws.invoke(
        "IntakeApiFunction", proxy_event(request, "/ops/complaints", {}, STAGE, "/ops/complaints", signer)
    )
    unsigned = aws.invoke(
        "IntakeApiFunction", proxy_event(request, "/ops/complaints", {}, STAGE, "/ops/complaints")
    )

    assert signed["statusCode"] == 202, signed["body"]
    case = aws.case(json.loads(signed["body"])["complaintId"])
    assert case["channel"] == "chat" and case["filed_by"] == agent
    # No identity (a route deployed without AWS_IAM): refused, nothing filed anonymously.
    assert unsigned["statusCode"] == 403
    assert len(aws.items("case")) == 1


def test_refused_without_the_token_for_another_channel_and_on_the_public_api_nothing_stored(
    aws: Aws, gateway
):
    unsigned = gateway.post("/ops/complaints", json=CALL)
    assert unsigned.status_code == 403
    assert unsigned.get_json() == {"message": "Missing Authentication Token"}
    assert intake_invocations(aws) == 0  # refused before the function runs

    # Staff file phone or chat only.
    web = gateway.post("/ops/complaints", json={**CALL, "channel": "web"}, headers=SIGNED)
    assert web.status_code == 422
    assert [e["field"] for e in web.get_json()["errors"]] == ["channel"]

    # The public may not claim a phone call or a chat: only staff file those.
    for channel in ("phone", "chat"):
        public = aws.http.post("/complaints", json={**CALL, "channel": channel})
        assert public.status_code == 422
        (error,) = public.get_json()["errors"]
        assert error["field"] == "channel" and "filed by our staff" in error["message"]

    assert aws.items("case") == [] and aws.items("event") == [] and aws.executions() == []


def test_the_consoles_form_answers_with_the_ticket_and_the_status_link(aws: Aws, gateway):
    form = {
        "channel": "chat",
        "email": "li.na@example.com",
        "name": "Li Na",
        "locale": "zh-CN",
        "description": "充值了1000块钱但余额没有变化",
        "amountValue": "1000.00",
        "amountCurrency": "CNY",
    }
    html = {**SIGNED, "Accept": "text/html"}
    console = gateway.get("/ops", headers=html).get_data(as_text=True)
    assert f'<form id="file-form" method="post" action="/{STAGE}/ops/complaints"' in console
    assert all(f'name="{name}"' in console for name in form)

    filed = gateway.post("/ops/complaints", data=form, headers=html)
    refused = gateway.post("/ops/complaints", data={**form, "channel": "web"}, headers=html)

    assert filed.status_code == 202 and filed.headers["Content-Type"].startswith("text/html")
    page = filed.get_data(as_text=True)
    ((case,),) = [aws.items("case")]
    assert case["locale"] == "zh-CN" and case["filed_by"] == LOCAL_AGENT
    assert f'id="complaint-id">{case["complaint_id"]}<' in page
    assert f"/{STAGE}/complaints/{case['complaint_id']}?code=" in page and f'href="/{STAGE}/ops"' in page
    assert refused.status_code == 422 and "Complaint not filed" in refused.get_data(as_text=True)
    assert "<code>channel</code>" in refused.get_data(as_text=True)
