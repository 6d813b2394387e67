"""Security headers on every response of the API, through the gateway: each kind of page, the error
pages, the JSON answers, and HSTS only where the request came over https."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from infra.gateway import Gateway
from tests.integration.conftest import Aws, StageClient

HTML = {"Accept": "text/html"}
OPS_TOKEN = "local-ops-token-headers"
COMPLAINT = {"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."}


def assert_page(answer, status: int, *, no_store: bool = True) -> None:
    """An HTML page of ours: served with a script-free policy, unframeable, no referrer, nosniff."""
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert answer.headers["Content-Type"].startswith("text/html")
    policy = answer.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to default-src 'none': no script at all
    assert directives["frame-ancestors"] == "'none'"
    assert directives["style-src"] == "'unsafe-inline'"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert (answer.headers.get("Cache-Control") == "no-store") is no_store
    assert "Strict-Transport-Security" not in answer.headers  # plain http: the local stack
    assert not re.search(r"<script|\son\w+=", answer.get_data(as_text=True), re.IGNORECASE)


def assert_json(answer, status: int) -> None:
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" not in answer.headers


def submit(aws: Aws) -> dict:
    answer = aws.http.post("/complaints", json=COMPLAINT)
    assert_json(answer, 202)
    assert answer.headers["Cache-Control"] == "no-store"  # it holds the access code
    return answer.get_json()


def test_the_form_and_the_receipt(aws: Aws):
    assert_page(aws.http.get("/", headers=HTML), 200, no_store=False)  # no secret: may be cached

    receipt = aws.http.post(
        "/complaints",
        data={"email": "li.wei@example.com", "description": "My withdrawal has not arrived."},
        headers=HTML,
    )

    assert_page(receipt, 202)


def test_the_form_shown_again_with_errors(aws: Aws):
    assert_page(aws.http.post("/complaints", data={"email": "not an address"}, headers=HTML), 422)


def test_the_status_page_and_its_not_found_page(aws: Aws):
    accepted = submit(aws)
    path = urlsplit(accepted["statusUrl"])

    assert_page(aws.http.get(f"{path.path}?{path.query}", headers=HTML), 200)
    assert_page(aws.http.get(f"/complaints/{accepted['complaintId']}?code=WRONG", headers=HTML), 404)


def test_json_answers_and_errors_get_nosniff(aws: Aws):
    accepted = submit(aws)

    status = aws.http.get(f"/complaints/{accepted['complaintId']}?code={accepted['accessCode']}")
    assert_json(status, 200)
    assert status.headers["Cache-Control"] == "no-store"
    assert_json(aws.http.get(f"/complaints/{accepted['complaintId']}?code=WRONG"), 404)
    assert_json(aws.http.post("/complaints", data=b"{", content_type="application/json"), 400)
    assert_json(aws.http.get("/complaints/" + "X" * 40 + "?code=A"), 422)  # Powertools' own validation


def test_the_task_pages(aws: Aws):
    complaint_id = submit(aws)["complaintId"]
    aws.invoke("TriageFunction", {"complaintId": complaint_id})
    aws.invoke("InvestigationFunction", {"step": "gather", "complaintId": complaint_id})
    aws.invoke(
        "InvestigationFunction",
        {
            "step": "ask",
            "complaintId": complaint_id,
            "level": "investigator",
            "token": "task-token",
            "timeoutSeconds": 3600,
        },
    )
    (link,) = [link for mail in aws.sent_emails() for link in mail["links"] if "/tasks/" in link]
    url = urlsplit(link)

    assert_page(aws.http.get(f"{url.path}?{url.query}"), 200)
    assert_page(aws.http.get(f"{url.path}?sig=forged"), 404)


def test_the_ops_pages(aws: Aws):
    ops = StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token=OPS_TOKEN))
    signed = {"Authorization": f"Bearer {OPS_TOKEN}"}
    complaint_id = submit(aws)["complaintId"]

    assert_page(ops.get("/ops", headers=signed), 200)
    assert_page(ops.get("/ops/executions/no-such-execution", headers=signed), 404)
    assert_page(ops.get(f"/ops/executions/{complaint_id}", headers=signed), 200)
    data = ops.get("/ops/api/queue", headers=signed)
    assert_json(data, 200)
    assert data.headers["Cache-Control"] == "no-store"


def test_the_api_docs_allow_their_own_scripts_only(aws: Aws):
    answer = aws.http.get("/swagger")

    assert answer.status_code == 200
    policy = answer.headers["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'sha256-" in script_src
    assert "unsafe" not in script_src
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/complaints/CMP-20260101-AAAAAA?code=A"])
def test_hsts_over_https_only(aws: Aws, path: str):
    over_https = aws.http.get(path, headers=HTML, base_url="https://localhost/")
    over_http = aws.http.get(path, headers=HTML)

    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in over_http.headers
