"""schemathesis against the OpenAPI the running stack serves (/prod/swagger?format=json): requests made from
the document, valid and invalid, each answered as documented (status, content type, headers, body schema),
never with a 5xx; and a refused request stores nothing (the cases stored during the run are exactly those
answered 202). Bounded: 20 requests per operation and mode, each with a timeout."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
EXAMPLES = 20  # per operation and mode
REQUEST_TIMEOUT = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def stored_cases(stack: Stack) -> set[str]:
    """The ids of the cases the table holds (a test may scan; request paths never do)."""
    pages = stack.client("dynamodb").get_paginator("scan")
    return {
        item["pk"]["S"].removeprefix("CASE#")
        for page in pages.paginate(
            TableName="CasesTable",
            ProjectionExpression="pk",
            FilterExpression="sk = :case",
            ExpressionAttributeValues={":case": {"S": "CASE"}},
        )
        for item in page["Items"]
    }


def test_the_served_openapi_holds_for_generated_requests(stack: Stack):
    spec_url = f"{stack.api_url}/swagger?format=json"
    spec = requests.get(spec_url, timeout=REQUEST_TIMEOUT).json()
    assert [server["url"] for server in spec["servers"]] == ["/prod"]
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "POST /complaints",
        "GET /complaints/{complaint_id}",
    }
    statuses: Counter[int] = Counter()
    accepted: set[str] = set()
    before = stored_cases(stack)
    started = time.monotonic()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,  # each request has its own timeout; the whole run its own limit below
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case):
                response = case.call(base_url=stack.api_url, timeout=REQUEST_TIMEOUT)
                statuses[response.status_code] += 1
                if response.status_code == 202:
                    found = re.search(r"CMP-\d{8}-[0-9A-Z]{6}", response.text)
                    assert found, response.text[:200]
                    accepted.add(found.group())
                case.validate_response(response, checks=CHECKS)

            send()

    elapsed = time.monotonic() - started
    sent = sum(statuses.values())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    print(
        f"schemathesis: {sent} requests in {elapsed:.1f} s, {server_errors} 5xx; by status {dict(statuses)}"
    )
    assert sent >= 2 * len(operations) * 5, "too few requests to mean anything"
    assert server_errors == 0
    # every case stored during the run was answered 202: a refused request stored nothing
    assert stored_cases(stack) - before == accepted - before
    assert elapsed < 60
