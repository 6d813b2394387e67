"""Property tests of every parser of untrusted input: whatever arrives, each returns a valid model or raises
one of the domain's 4xx errors (the API maps those to 400, 413, 415, 422 or 404), never anything else.
Bounded: a few hundred examples each, well under 20 seconds."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from complaints.core import ids
from complaints.core.errors import InvalidSubmission, MalformedBody, PayloadTooLarge, UnsupportedMediaType
from complaints.core.models import ComplaintIn
from complaints.core.tasks import CustomerAnswer, Decision, Findings, TaskLink
from complaints.http.body import (
    FORM_FIELDS,
    MAX_JSON_DEPTH,
    decode_body,
    form_fields,
    parse_form,
    parse_submission,
)
from complaints.tasklinks.links import signature, signature_matches

LIMIT = 64 * 1024
BOUNDED = settings(
    max_examples=300,
    deadline=None,  # the time limit is the test's own, below: a slow CI box is not a failure
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFUSALS = (InvalidSubmission, MalformedBody, PayloadTooLarge, UnsupportedMediaType)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
            "text/plain",
            "",
        ]
    ),
    st.none(),
    st.text(max_size=40),
)
# JSON values of every kind, numbers huge and tiny included, and strings with any code point.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=60),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
VALID = {"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."}
KEYS = [*ComplaintIn.model_fields, "customer.email", "customer.phone", "amount.value", "amount.currency"]


@pytest.fixture(autouse=True)
def _bounded_in_time():
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 20, "a property test must stay under 20 seconds"


def submit(raw: bytes, content_type: str | None) -> ComplaintIn | None:
    """parse_submission, asserting it returns a model or refuses with a domain error; None when refused."""
    try:
        parsed = parse_submission(raw, content_type)
    except REFUSALS as refused:
        if isinstance(refused, InvalidSubmission):
            assert refused.errors
            assert all({"field", "message", "type"} <= set(error) for error in refused.errors)
        return None
    assert isinstance(parsed, ComplaintIn)
    return parsed


@st.composite
def near_valid_documents(draw) -> dict:
    """A valid complaint with a field or two replaced by anything JSON can carry."""
    document = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(KEYS)).split(".")
        target = document
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[path[-1]] = draw(JSON_VALUES)
    return document


@BOUNDED
@given(body=st.text(max_size=300) | st.none(), is_base64=st.booleans(), limit=st.integers(0, 400))
@example(body=base64.b64encode(b"x" * 100).decode(), is_base64=True, limit=10)
@example(body="not base64!", is_base64=True, limit=LIMIT)
def test_decode_body_returns_bytes_or_refuses(body, is_base64, limit):
    try:
        raw = decode_body(body, is_base64, limit)
    except (MalformedBody, PayloadTooLarge):
        return
    assert isinstance(raw, bytes) and len(raw) <= limit


@BOUNDED
@given(raw=st.binary(max_size=400), content_type=CONTENT_TYPES)
def test_any_bytes_under_any_content_type(raw, content_type):
    submit(raw, content_type)


@BOUNDED
@given(document=near_valid_documents())
@example(document={**VALID, "occurredAt": "2361-01-01T00:00:00Z"})
@example(document={**VALID, "amount": {"value": "1" * 5000, "currency": "CNY"}})
@example(document={**VALID, "references": {"a" * 64: "x" * 128}})
def test_json_documents_near_a_valid_one(document):
    submit(json.dumps(document).encode(), "application/json")


@BOUNDED
@given(text=st.text(max_size=200), nesting=st.integers(0, 200), digits=st.integers(1, 6000))
@example(text="", nesting=1000, digits=1)
@example(text="", nesting=0, digits=4301)
def test_json_texts_deep_or_with_long_numbers(text, nesting, digits):
    deep = "[" * nesting + json.dumps(text) + "]" * nesting
    number = "1" * digits
    for body in (deep, json.dumps({**VALID, "references": "@"}).replace('"@"', deep)):
        parsed = submit(body.encode(), "application/json")
        if nesting >= MAX_JSON_DEPTH:  # the second nests one level more, in the document
            assert parsed is None
    for body in (
        json.dumps({**VALID, "amount": {"value": "@", "currency": "CNY"}}).replace('"@"', number),
        '{"description": ' + number + "}",
        text,
    ):
        submit(body.encode(), "application/json")


@BOUNDED
@given(
    fields=st.dictionaries(
        st.sampled_from([*FORM_FIELDS, "referenceName", "referenceId", "amountValue", "amountCurrency"])
        | st.text(max_size=10),
        st.text(max_size=80),
        max_size=16,
    ),
    extra=st.integers(0, 100),
)
@example(fields={"email": "li.wei@example.com", "description": "late", "amountValue": "9" * 5000}, extra=0)
def test_forms(fields, extra):
    body = urlencode(fields) + "".join(f"&f{i}=x" for i in range(extra))
    parsed = submit(body.encode(), "application/x-www-form-urlencoded")
    if parsed is not None:
        assert parsed.channel == "web"


@BOUNDED
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_form_fields_of_any_text(text):
    try:
        fields = form_fields(text.encode("utf-8", "surrogatepass"))
    except MalformedBody:
        return
    assert all(isinstance(name, str) and value.strip() for name, value in fields.items())


# ---------------------------------------------------------------- the pages behind the links

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, tzinfo=UTC)
LINK = TaskLink(
    link_id="L" * 22,
    complaint_id="CMP-20261201-ABCDEF",
    kind="investigate",
    level="investigator",
    recipient_id="inv-1",
    recipient_name="Zhang Min",
    recipient_email="zhang.min@example.com",
    token="token",
    created_at=NOW,
    expires_at=NOW + timedelta(days=1),
)


@BOUNDED
@given(sig=st.none() | st.text(max_size=64))
@example(sig="é" * 32)
@example(sig="\ud800" * 4)
def test_a_link_signature_is_checked_never_crashes(sig):
    assert signature_matches(KEY, LINK, sig) is (
        sig == signature(KEY, LINK.link_id, LINK.complaint_id, LINK.kind, LINK.recipient_id)
    )


@BOUNDED
@given(code=st.none() | st.text(max_size=64))
@example(code="密码" * 8)
@example(code="\udcff")
def test_an_access_code_is_checked_never_crashes(code):
    assert ids.access_code_matches(code, ids.hash_access_code("ABCD-EFGH-JKMN-PQRS")) in (True, False)


TASK_FIELDS = [
    *Findings.model_fields,
    *Decision.model_fields,
    *CustomerAnswer.model_fields,
]


@BOUNDED
@given(
    fields=st.dictionaries(
        st.sampled_from(TASK_FIELDS) | st.text(max_size=8), st.text(max_size=60), max_size=8
    ),
    extra=st.integers(0, 80),
)
@example(fields={"resolved": "yes", "rating": "9" * 5000}, extra=0)
@example(fields={"summary": "s", "remedy": "refund", "customerMessage": "m", "amount": "1" * 5000}, extra=0)
def test_task_forms_validate_or_refuse(fields, extra):
    text = urlencode(fields) + "".join(f"&f{i}=x" for i in range(extra))
    try:
        form = dict(parse_form(text))
    except MalformedBody:
        assert extra > 0
        return
    for model in (Findings, Decision, CustomerAnswer):
        with contextlib.suppress(ValidationError):
            model.model_validate(form)
