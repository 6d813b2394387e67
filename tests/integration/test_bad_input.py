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


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        ("2361-01-01T00:00:00Z", False),
        ("9999-12-31T23:59:59", False),
        ((datetime.now(UTC) + timedelta(days=2)).isoformat(), False),
        ((datetime.now(UTC) - timedelta(days=365 * 11)).isoformat(), False),
        ("0001-01-01T00:00:00", False),
        ((datetime.now(UTC) - timedelta(days=3)).isoformat(), True),
        # a local time without an offset, up to 14 hours ahead of UTC (the zone is applied later)
        ((datetime.now(UTC) + timedelta(hours=8)).replace(tzinfo=None).isoformat(), True),
    ],
    ids=["year-2361", "year-9999", "in-two-days", "eleven-years-ago", "year-1", "last-week", "naive-now"],
)
def test_occurred_at_is_bounded(aws: Aws, occurred_at: str, accepted: bool):
    answer = aws.http.post("/complaints", json={**VALID, "occurredAt": occurred_at})

    if accepted:
        assert answer.status_code == 202
        return
    document = assert_refused(answer, 422, aws)
    assert [error["field"] for error in document["errors"]] == ["occurredAt"]


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


# ---------------------------------------------------------------- the OpenAPI matches what is served


@pytest.fixture
def spec(aws: Aws) -> dict:
    return aws.http.get("/swagger", query_string={"format": "json"}).get_json()


def test_openapi_names_the_stage_the_api_is_served_under(spec: dict):
    assert [server["url"] for server in spec["servers"]] == [f"/{STAGE}"]


def test_openapi_error_bodies_match_what_is_sent(aws: Aws, spec: dict):
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
