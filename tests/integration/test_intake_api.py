"""POST /complaints and GET /complaints/{id} through the real handler, on moto."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import BASE_URL, Aws

COMPLAINT = {
    "customer": {
        "id": "P-1001",
        "name": "Li Wei",
        "email": "li.wei@example.com",
        "phone": "+86 138 0013 8000",
    },
    "channel": "app",
    "subject": "Withdrawal missing",
    "description": "My withdrawal of 150 CNY three days ago has not arrived.",
    "occurredAt": "2026-11-19T10:15:00+08:00",
    "references": {"transactionId": "TX-88231"},
    "amount": {"value": "150.00", "currency": "CNY"},
    "desiredResolution": "Pay out the withdrawal",
}


def submit(aws: Aws, document=COMPLAINT, **headers):
    return aws.http.post("/complaints", json=document, headers=headers)


def test_json_complaint_is_stored_audited_and_started(aws: Aws):
    answer = submit(aws, **{"Accept-Language": "zh-CN,zh;q=0.9"})

    assert answer.status_code == 202
    body = answer.get_json()
    assert body["status"] == "RECEIVED"
    assert body["complaintId"].startswith("CMP-")
    assert body["statusUrl"] == f"{BASE_URL}/complaints/{body['complaintId']}?code={body['accessCode']}"
    case = aws.case(body["complaintId"])
    assert case["status"] == "RECEIVED"
    assert case["customer"]["email"] == "li.wei@example.com"
    assert case["amount"] == {"value": "150.00", "currency": "CNY"}
    assert case["references"] == {"transactionId": "TX-88231"}
    assert case["locale"] == "zh-CN"  # from Accept-Language, as the customer gave none
    assert body["accessCode"] not in json.dumps(case, default=str).replace(case["pending_access_code"], "")
    events = sorted(e["type"] for e in aws.items("event"))
    assert events == ["RECEIVED", "WORKFLOW_STARTED"]
    (execution,) = aws.executions()
    assert execution["name"] == body["complaintId"]
    assert case["execution_arn"] == execution["executionArn"]
    assert "gsi1pk" not in case  # no longer waiting for the reconciler


def test_form_post_answers_with_a_receipt_page(aws: Aws):
    form = {
        "name": "王芳",
        "email": "wang.fang@example.com",
        "description": "充值成功但余额没有增加",
        "referenceName": "orderId",
        "referenceId": "OD-5521",
        "amountValue": "88.00",
        "amountCurrency": "CNY",
        "locale": "zh-CN",
    }
    answer = aws.http.post("/complaints", data=form, headers={"Accept": "text/html,application/xhtml+xml"})

    assert answer.status_code == 202
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.get_data(as_text=True)
    assert "我们已收到您的投诉" in page
    (case,) = aws.items("case")
    assert case["complaint_id"] in page
    assert case["channel"] == "web"
    assert case["references"] == {"orderId": "OD-5521"}
    assert case["amount"] == {"value": "88.00", "currency": "CNY"}


def test_form_post_asking_for_json_gets_json(aws: Aws):
    answer = aws.http.post(
        "/complaints",
        data={"email": "a@example.com", "description": "Bonus not credited"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 202
    assert answer.get_json()["status"] == "RECEIVED"


def test_the_form_page_is_served_in_the_browser_language(aws: Aws):
    english = aws.http.get("/", headers={"Accept": "text/html"})
    chinese = aws.http.get("/", headers={"Accept": "text/html", "Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 200
    assert 'name="description"' in english.get_data(as_text=True)
    assert "Make a complaint" in english.get_data(as_text=True)
    assert "提交投诉" in chinese.get_data(as_text=True)


# ------------------------------------------------------------------ bad input stores nothing


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fields"),
    [
        ("{}", "application/json", 422, {"customer", "description"}),
        (json.dumps({**COMPLAINT, "customer": {"name": "x"}}), "application/json", 422, {"customer.email"}),
        (
            json.dumps({**COMPLAINT, "customer": {"email": "not-an-address"}}),
            "application/json",
            422,
            {"customer.email"},
        ),
        (json.dumps({**COMPLAINT, "description": ""}), "application/json", 422, {"description"}),
        (json.dumps({**COMPLAINT, "description": "x" * 5001}), "application/json", 422, {"description"}),
        (json.dumps({**COMPLAINT, "channel": "fax"}), "application/json", 422, {"channel"}),
        (
            json.dumps({**COMPLAINT, "amount": {"value": "-1", "currency": "cny"}}),
            "application/json",
            422,
            {"amount.value", "amount.currency"},
        ),
        (
            json.dumps({**COMPLAINT, "customer": {**COMPLAINT["customer"], "phone": "call me"}}),
            "application/json",
            422,
            {"customer.phone"},
        ),
        (json.dumps({**COMPLAINT, "surprise": 1}), "application/json", 422, {"surprise"}),
        ('{"customer": {"email": "a@example.com"}, "description": ', "application/json", 400, None),
        ("[1, 2]", "application/json", 400, None),
        ("email=a%40example.com", "text/plain", 415, None),
        ("{}", "", 415, None),
        (json.dumps({**COMPLAINT, "description": "x" * (65 * 1024)}), "application/json", 413, None),
    ],
    ids=[
        "empty",
        "no-email",
        "bad-email",
        "empty-description",
        "long-description",
        "bad-channel",
        "bad-amount",
        "bad-phone",
        "unknown-field",
        "broken-json",
        "json-array",
        "text-plain",
        "no-content-type",
        "too-large",
    ],
)
def test_bad_input_gets_a_clear_4xx_and_stores_nothing(aws: Aws, body, content_type, status, fields):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = aws.http.post("/complaints", data=body.encode(), headers=headers)

    assert answer.status_code == status
    document = answer.get_json()
    assert document["message"]
    if fields is not None:
        assert {error["field"] for error in document["errors"]} == fields
    assert aws.items() == []
    assert aws.executions() == []


def test_bad_form_shows_the_form_again_with_the_problem(aws: Aws):
    answer = aws.http.post(
        "/complaints",
        data={"name": "Sam", "email": "sam@", "description": "Login fails"},
        headers={"Accept": "text/html"},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "customer.email" in page
    assert 'value="Sam"' in page  # what they typed is kept
    assert "Login fails" in page
    assert aws.items() == []


# ------------------------------------------------------------------ idempotency


def test_same_idempotency_key_returns_the_first_answer_and_creates_nothing(aws: Aws):
    first = submit(aws, **{"Idempotency-Key": "order-77-retry"})
    second = submit(aws, **{"Idempotency-Key": "order-77-retry"})

    assert first.status_code == second.status_code == 202
    assert second.get_json() == first.get_json()
    assert len(aws.items("case")) == 1
    assert len(aws.executions()) == 1


def test_an_idempotency_key_reused_for_another_complaint_is_refused(aws: Aws):
    submit(aws, **{"Idempotency-Key": "k-1"})
    other = submit(aws, {**COMPLAINT, "description": "Something else entirely"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["message"]
    assert len(aws.items("case")) == 1


def test_same_customer_same_text_without_a_key_gets_the_first_case(aws: Aws):
    first = submit(aws).get_json()
    again = submit(
        aws, {**COMPLAINT, "description": "  " + COMPLAINT["description"].upper() + "\n"}
    ).get_json()
    other_customer = submit(aws, {**COMPLAINT, "customer": {"email": "someone.else@example.com"}}).get_json()

    assert again == first
    assert other_customer["complaintId"] != first["complaintId"]
    assert len(aws.items("case")) == 2


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "same-text"])
def test_concurrent_duplicates_create_one_case(aws: Aws, with_key: bool):
    headers = {"Idempotency-Key": "burst-1"} if with_key else {}

    def post(_):
        return aws.runtimes["IntakeApiFunction"].invoke(
            {
                "resource": "/complaints",
                "path": "/complaints",
                "httpMethod": "POST",
                "headers": {"Content-Type": "application/json", **headers},
                "body": json.dumps(COMPLAINT),
                "isBase64Encoded": False,
                "requestContext": {"requestId": "r", "stage": "prod"},
            }
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(8)))

    assert {answer["statusCode"] for answer in answers} == {202}
    assert len({json.loads(answer["body"])["complaintId"] for answer in answers}) == 1
    assert len(aws.items("case")) == 1
    assert len(aws.executions()) == 1
    assert aws.runtimes["IntakeApiFunction"].cold_starts > 1  # really concurrent containers


# ------------------------------------------------------------------ status


def test_status_needs_the_access_code_and_says_404_alike_otherwise(aws: Aws):
    accepted = submit(aws).get_json()
    complaint_id, code = accepted["complaintId"], accepted["accessCode"]

    by_query = aws.http.get(f"/complaints/{complaint_id}", query_string={"code": code})
    by_header = aws.http.get(f"/complaints/{complaint_id}", headers={"X-Access-Code": code.lower()})
    no_code = aws.http.get(f"/complaints/{complaint_id}")
    wrong_code = aws.http.get(f"/complaints/{complaint_id}", query_string={"code": "AAAA-BBBB-CCCC-DDDD"})
    unknown = aws.http.get("/complaints/CMP-20260101-AAAAAA", query_string={"code": code})
    garbage = aws.http.get("/complaints/<script>", query_string={"code": code})

    assert by_query.status_code == by_header.status_code == 200
    view = by_query.get_json()
    assert set(view) == {
        "complaintId",
        "status",
        "category",
        "confidence",
        "evidence",
        "priority",
        "priorityBreakdown",
        "department",
        "assignee",
        "createdAt",
        "firstResponseDueAt",
        "resolutionDueAt",
        "responseDueAt",
        "slaPausedSince",
        "slaPausedSeconds",
        "question",
        "relatedTo",
        "timeline",
        "messages",
    }
    assert view["messages"] == []  # a complaint from the form: no conversation yet
    # Nobody asked the complainant anything: the resolution target has not waited for them.
    assert (view["question"], view["slaPausedSince"], view["slaPausedSeconds"]) == (None, None, 0)
    assert view["complaintId"] == complaint_id
    assert view["status"] == "RECEIVED"
    assert [entry["type"] for entry in view["timeline"]] == ["RECEIVED", "WORKFLOW_STARTED"]
    assert "app" in view["timeline"][0]["detail"]
    assert view["responseDueAt"] > view["createdAt"]
    for refused in (no_code, wrong_code, unknown, garbage):
        assert refused.status_code == 404
    assert wrong_code.get_json() == unknown.get_json()


def test_status_page_in_a_browser_is_html(aws: Aws):
    accepted = submit(aws, **{"Accept-Language": "zh-CN"}).get_json()
    page = aws.http.get(
        accepted["statusUrl"].removeprefix(BASE_URL),
        headers={"Accept": "text/html", "Accept-Language": "zh-CN"},
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert accepted["complaintId"] in text
    assert "已受理" in text


def test_openapi_documents_the_api(aws: Aws):
    spec = aws.http.get("/swagger", query_string={"format": "json"}).get_json()
    assert "/complaints" in spec["paths"]
    post = spec["paths"]["/complaints"]["post"]
    body_schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"customer", "description"} <= set(body_schema["required"])
    assert "/complaints/{complaint_id}" in spec["paths"]
    assert aws.http.get("/swagger").status_code == 200
