"""Bad input never gets a 5xx: each request here once crashed a handler (a 502 from the gateway, and on AWS
the errors alarm). Through the gateway, anonymous, as a prober sends them; each answer is a clear 4xx and
nothing is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.test import Client

from infra.gateway import Gateway
from tests.integration.conftest import STAGE, Aws, StageClient

VALID = {"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."}


def post_json(aws: Aws, text: str):
    return aws.http.post("/complaints", data=text.encode(), headers={"Content-Type": "application/json"})


def assert_refused(answer, status: int, aws: Aws) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    document = answer.get_json()
    assert document["message"]
    assert aws.items() == []
    assert aws.executions() == []
    return document


@pytest.mark.parametrize("depth", [33, 1000, 20_000])
def test_json_nested_too_deep_is_a_400(aws: Aws, depth: int):
    text = json.dumps({**VALID, "references": "@"}).replace('"@"', "[" * depth + "]" * depth)

    document = assert_refused(post_json(aws, text), 400, aws)
    assert "deep" in document["message"]


def test_json_nested_within_the_limit_is_judged_by_its_fields(aws: Aws):
    text = json.dumps({**VALID, "references": "@"}).replace('"@"', "[" * 30 + "]" * 30)

    document = assert_refused(post_json(aws, text), 422, aws)
    assert [error["field"] for error in document["errors"]] == ["references"]


@pytest.mark.parametrize(
    "number",
    ["1" * 4301, "1" * 100, "0." + "1" * 5000, "1e999999", "NaN", "-Infinity"],
    ids=["int-over-python-limit", "int-100-digits", "long-fraction", "huge-exponent", "nan", "infinity"],
)
def test_an_absurd_number_is_a_400(aws: Aws, number: str):
    text = json.dumps({**VALID, "amount": {"value": "@", "currency": "CNY"}}).replace('"@"', number)

    document = assert_refused(post_json(aws, text), 400, aws)
    assert "number" in document["message"]


def test_a_form_with_too_many_fields_is_a_400(aws: Aws):
    fields = "&".join(f"f{i}=x" for i in range(500))
    answer = aws.http.post(
        "/complaints",
        data=f"email=li.wei%40example.com&description=late&{fields}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    document = assert_refused(answer, 400, aws)
    assert "fields" in document["message"]


# ---------------------------------------------------------------- secrets that are not ASCII


@pytest.fixture
def link(aws: Aws) -> str:
    """A stored, open task link (the signature check runs before anything else is read)."""
    now = datetime.now(UTC)
    link_id = "L" * 22
    aws.table.put_item(
        Item={
            "pk": f"LINK#{link_id}",
            "sk": "LINK",
            "kind": "link",
            "link_id": link_id,
            "complaint_id": "CMP-20261201-ABCDEF",
            "level": "investigator",
            "recipient_id": "inv-1",
            "recipient_name": "Zhang Min",
            "recipient_email": "zhang.min@example.com",
            "token": "token",
            "status": "OPEN",
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(days=1)).isoformat(),
        }
    )
    return link_id


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("sig", ["é" * 32, "签名", "\u00ff" * 32], ids=["latin", "cjk", "y-umlaut"])
def test_a_non_ascii_link_signature_is_a_404_like_a_wrong_one(aws: Aws, link: str, method: str, sig: str):
    answer = getattr(aws.http, method)(
        f"/tasks/{link}", query_string={"sig": sig}, data={"rootCause": "system_fault"}
    )

    assert answer.status_code == 404
    assert "not valid" in answer.get_data(as_text=True)


def test_a_malformed_task_form_is_a_4xx(aws: Aws, link: str):
    fields = "&".join(f"f{i}=x" for i in range(500))
    answer = aws.http.post(
        f"/tasks/{link}?sig=x",
        data=fields,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    answer = aws.http.post(
        f"/tasks/{link}?sig=x",
        data="x" * (65 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_a_non_ascii_access_code_is_a_404(aws: Aws):
    accepted = aws.http.post("/complaints", json=VALID).get_json()

    answer = aws.http.get(f"/complaints/{accepted['complaintId']}", query_string={"code": "密码" * 8})

    assert answer.status_code == 404


@pytest.fixture
def gateway(aws: Aws) -> Client:
    return StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token="local-ops-token-3f9a1c"))


@pytest.mark.parametrize(
    "credentials",
    [
        {"query_string": {"token": "令牌"}},
        {"query_string": {"token": "é" * 22}},
        {"headers": {"Authorization": "Bearer \u00e9\u00e9\u00e9"}},
    ],
    ids=["query-cjk", "query-latin", "bearer-latin1"],
)
def test_a_non_ascii_ops_token_is_a_403(aws: Aws, gateway: Client, credentials):
    answer = gateway.get("/ops", **credentials)

    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers


def test_a_non_ascii_ops_cookie_is_a_403(aws: Aws, gateway: Client):
    gateway.set_cookie("ops_token", "令牌", path=f"/{STAGE}/ops")

    assert gateway.get("/ops").status_code == 403
