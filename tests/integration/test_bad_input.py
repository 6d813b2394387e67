"""Bad input never gets a 5xx: each request here once crashed a handler (a 502 from the gateway, and on AWS
the errors alarm). Through the gateway, anonymous, as a prober sends them; each answer is a clear 4xx and
nothing is stored. Each test sends its variants in a loop: one stack set up per test, not per variant."""

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


def test_json_nested_too_deep_is_a_400(aws: Aws):
    for depth in (33, 1000, 20_000):
        text = json.dumps({**VALID, "references": "@"}).replace('"@"', "[" * depth + "]" * depth)

        document = assert_refused(post_json(aws, text), 400, aws)
        assert "deep" in document["message"]


def test_json_nested_within_the_limit_is_judged_by_its_fields(aws: Aws):
    text = json.dumps({**VALID, "references": "@"}).replace('"@"', "[" * 30 + "]" * 30)

    document = assert_refused(post_json(aws, text), 422, aws)
    assert [error["field"] for error in document["errors"]] == ["references"]


def test_an_absurd_number_is_a_400(aws: Aws):
    # over Python's int limit, long, a long fraction, an exponent that overflows, and JSON's non-numbers
    for number in ("1" * 4301, "1" * 100, "0." + "1" * 5000, "1e999999", "NaN", "-Infinity"):
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


def test_occurred_at_is_bounded(aws: Aws):
    now = datetime.now(UTC)
    for refused in (
        "2361-01-01T00:00:00Z",
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00",
        (now + timedelta(days=2)).isoformat(),
        (now - timedelta(days=365 * 11)).isoformat(),
    ):
        answer = aws.http.post("/complaints", json={**VALID, "occurredAt": refused})

        document = assert_refused(answer, 422, aws)
        assert [error["field"] for error in document["errors"]] == ["occurredAt"], refused
    # last week; and a local time without an offset, up to 14 hours ahead of UTC (its zone is applied later)
    for n, accepted in enumerate(
        [(now - timedelta(days=3)).isoformat(), (now + timedelta(hours=8)).replace(tzinfo=None).isoformat()]
    ):
        document = {**VALID, "description": f"{VALID['description']} ({n})", "occurredAt": accepted}
        assert aws.http.post("/complaints", json=document).status_code == 202, accepted


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


def test_a_non_ascii_link_signature_is_a_404_like_a_wrong_one(aws: Aws, link: str):
    for method in ("get", "post"):
        for sig in ("é" * 32, "签名", "\u00ff" * 32):
            answer = getattr(aws.http, method)(
                f"/tasks/{link}", query_string={"sig": sig}, data={"rootCause": "system_fault"}
            )

            assert answer.status_code == 404, (method, sig)
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


def test_a_non_ascii_ops_token_is_a_403(aws: Aws, gateway: Client):
    for credentials in (
        {"query_string": {"token": "令牌"}},
        {"query_string": {"token": "é" * 22}},
        {"headers": {"Authorization": "Bearer \u00e9\u00e9\u00e9"}},
    ):
        answer = gateway.get("/ops", **credentials)

        assert answer.status_code == 403, credentials
        assert "Set-Cookie" not in answer.headers
    gateway.set_cookie("ops_token", "令牌", path=f"/{STAGE}/ops")

    assert gateway.get("/ops").status_code == 403


# ---------------------------------------------------------------- the OpenAPI matches what is served


def test_openapi_names_the_stage_and_the_error_bodies_that_are_sent(aws: Aws):
    spec = aws.http.get("/swagger", query_string={"format": "json"}).get_json()
    assert [server["url"] for server in spec["servers"]] == [f"/{STAGE}"]
    post = spec["paths"]["/complaints"]["post"]
    responses = post["responses"]
    assert {"202", "400", "413", "415", "422", "503"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    schema = responses["422"]["content"]["application/json"]["schema"]
    schema = resolve(spec, schema)
    answer = aws.http.post("/complaints", json={"customer": {}})
    body = answer.get_json()
    assert answer.status_code == 422
    assert set(schema["required"]) <= set(body)
    item_schema = resolve(spec, schema["properties"]["errors"]["items"])
    assert set(item_schema["required"]) <= set(body["errors"][0])
    for status in ("400", "413", "415", "503"):
        problem = resolve(spec, responses[status]["content"]["application/json"]["schema"])
        assert problem["required"] == ["message"]
    status_404 = spec["paths"]["/complaints/{complaint_id}"]["get"]["responses"]["404"]
    assert resolve(spec, status_404["content"]["application/json"]["schema"])["required"] == ["message"]


def resolve(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return spec["components"]["schemas"][name]
    return schema
