"""web.security_headers on proxy responses: what each kind of response gets (the pages themselves are
tested through the gateway in tests/integration/test_security_headers.py)."""

from __future__ import annotations

import base64
import hashlib

from complaints.http.web import PAGE_POLICY, secured, security_headers


def event(method: str = "GET", resource: str = "/complaints/{complaint_id}", proto: str = "http") -> dict:
    return {"httpMethod": method, "resource": resource, "headers": {"x-forwarded-proto": proto}}


def html(body: str = "<p>hi</p>") -> dict:
    return {
        "statusCode": 200,
        "body": body,
        "multiValueHeaders": {"Content-Type": ["text/html; charset=utf-8"]},
    }


def test_a_header_the_handler_set_is_kept():
    response = html()
    response["multiValueHeaders"]["cache-control"] = ["max-age=60"]

    headers = security_headers(response, event())["multiValueHeaders"]

    assert headers["cache-control"] == ["max-age=60"]
    assert "Cache-Control" not in headers
    assert headers["Content-Security-Policy"] == [PAGE_POLICY]


def test_a_response_with_single_value_headers_only():
    response = {"statusCode": 200, "body": "{}", "headers": {"Content-Type": "application/json"}}

    headers = security_headers(response, event(proto="https"))["multiValueHeaders"]

    assert headers["X-Content-Type-Options"] == ["nosniff"]
    assert headers["Strict-Transport-Security"] == ["max-age=31536000; includeSubDomains"]
    assert "Content-Security-Policy" not in headers


def test_the_api_docs_allow_exactly_their_inline_scripts():
    script = "var ui = SwaggerUIBundle({})"
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()

    headers = security_headers(html(f"<script>{script}</script>"), event(resource="/swagger"))[
        "multiValueHeaders"
    ]

    assert f"script-src 'sha256-{digest}';" in headers["Content-Security-Policy"][0]
    assert "Cache-Control" not in headers  # public: may be cached


def test_the_same_script_on_any_other_page_is_not_allowed():
    headers = security_headers(html("<script>alert(1)</script>"), event())["multiValueHeaders"]

    assert headers["Content-Security-Policy"] == [PAGE_POLICY]
    assert "script-src" not in PAGE_POLICY and "default-src 'none'" in PAGE_POLICY


def test_secured_wraps_a_handler():
    @secured
    def handler(event: dict, context: object) -> dict:
        return html()

    assert handler(event(), None)["multiValueHeaders"]["Referrer-Policy"] == ["no-referrer"]
