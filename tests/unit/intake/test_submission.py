"""Reading a submitted complaint: JSON and HTML form bodies, and every way a body can be wrong."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from complaints.core.errors import InvalidSubmission, MalformedBody, PayloadTooLarge, UnsupportedMediaType
from complaints.http.body import decode_body, form_fields, form_to_document, parse_submission

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
LIMIT = 64 * 1024


def body(**document) -> bytes:
    return json.dumps(document).encode()


def valid(**overrides) -> dict:
    document = {
        "customer": {"email": "alice@example.com", "name": "Alice Example"},
        "description": "I was charged twice for the same order.",
    }
    document.update(overrides)
    return document


def invalid_fields(raw: bytes, content_type: str = JSON) -> dict[str, dict[str, str]]:
    with pytest.raises(InvalidSubmission) as raised:
        parse_submission(raw, content_type)
    return {error["field"]: error for error in raised.value.errors}


# ------------------------------------------------------------------ valid JSON


def test_a_valid_json_complaint_is_read_with_every_field():
    complaint = parse_submission(
        body(
            customer={
                "id": "P-1001",
                "name": "  Alice Example ",
                "email": "alice@example.com",
                "phone": "+44 20 7946 0000",
                "locale": "zh-cn",
            },
            channel="app",
            subject="Double charge",
            description="  I was charged twice.  ",
            occurredAt="2026-03-04T18:20:00+00:00",
            references={"transaction": "TX-77", "order.id": "O-1"},
            amount={"value": "150.00", "currency": "EUR"},
            desiredResolution="Refund the second charge",
        ),
        JSON,
    )

    assert complaint.customer.email == "alice@example.com"
    assert complaint.customer.name == "Alice Example"
    assert complaint.customer.locale == "zh-CN"
    assert complaint.channel == "app"
    assert complaint.description == "I was charged twice."
    assert complaint.references == {"transaction": "TX-77", "order.id": "O-1"}
    assert complaint.amount.value == Decimal("150.00")
    assert complaint.amount.currency == "EUR"
    assert complaint.occurredAt.isoformat() == "2026-03-04T18:20:00+00:00"


def test_a_json_complaint_without_channel_came_through_the_api():
    assert parse_submission(body(**valid()), JSON).channel == "api"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/problem+json"]
)
def test_json_content_types_with_parameters_or_suffix_are_accepted(content_type):
    assert parse_submission(body(**valid()), content_type).customer.email == "alice@example.com"


@pytest.mark.parametrize(("number", "text"), [("150.1", "150.1"), ("19.99", "19.99"), ("0.07", "0.07")])
def test_json_float_amounts_keep_their_decimal_value(number, text):
    raw = (
        json.dumps(valid()).encode()[:-1] + f', "amount": {{"value": {number}, "currency": "EUR"}}}}'.encode()
    )

    complaint = parse_submission(raw, JSON)

    assert complaint.amount.value == Decimal(text)
    assert str(complaint.amount.value) == text
    assert complaint.amount.value != Decimal(float(text))  # not the binary float's expansion


# ------------------------------------------------------------------ bodies that cannot be read


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"customer": }', b"{'single': 'quotes'}", b"\xff\xfe{}", b'{"a": 1} trailing'],
    ids=["empty", "unclosed", "missing-value", "single-quotes", "not-utf8", "trailing"],
)
def test_broken_json_is_malformed(raw):
    with pytest.raises(MalformedBody):
        parse_submission(raw, JSON)


@pytest.mark.parametrize("raw", [b"[]", b'[{"description": "x"}]', b"null", b"42", b'"text"'])
def test_json_that_is_not_an_object_is_malformed(raw):
    with pytest.raises(MalformedBody, match="JSON object"):
        parse_submission(raw, JSON)


def test_the_malformed_json_error_does_not_echo_the_body():
    raw = b'{"customer": {"email": "secret.person@example.com"}, "description": "private" oops}'
    with pytest.raises(MalformedBody) as raised:
        parse_submission(raw, JSON)
    assert "secret.person" not in str(raised.value)
    assert "private" not in str(raised.value)


@pytest.mark.parametrize("content_type", ["text/plain", None, "", "multipart/form-data; boundary=x", "json"])
def test_a_body_that_is_neither_json_nor_a_form_is_unsupported(content_type):
    with pytest.raises(UnsupportedMediaType):
        parse_submission(body(**valid()), content_type)


def test_decode_body_passes_a_body_up_to_64_kib():
    text = "x" * LIMIT
    assert decode_body(text, False, LIMIT) == text.encode()
    assert decode_body(None, False, LIMIT) == b""


def test_decode_body_refuses_a_body_over_64_kib():
    with pytest.raises(PayloadTooLarge):
        decode_body("x" * (LIMIT + 1), False, LIMIT)


def test_the_limit_counts_bytes_not_characters():
    text = "投" * (LIMIT // 3 + 1)  # fewer than 64 Ki characters, more than 64 KiB in UTF-8
    assert len(text) < LIMIT
    with pytest.raises(PayloadTooLarge):
        decode_body(text, False, LIMIT)


def test_a_base64_body_is_decoded_and_its_decoded_size_counts():
    payload = b"y" * 60_000
    encoded = base64.b64encode(payload).decode()
    assert len(encoded) > LIMIT

    assert decode_body(encoded, True, LIMIT) == payload
    with pytest.raises(PayloadTooLarge):
        decode_body(base64.b64encode(b"y" * (LIMIT + 1)).decode(), True, LIMIT)


def test_broken_base64_is_malformed():
    with pytest.raises(MalformedBody):
        decode_body("not base64!", True, LIMIT)


# ------------------------------------------------------------------ invalid fields


@pytest.mark.parametrize(
    ("document", "field", "error_type"),
    [
        (valid(customer={"email": "not-an-address"}), "customer.email", "value_error"),
        (valid(customer={"name": "No Email"}), "customer.email", "missing"),
        (valid(customer={"email": "a@example.com", "phone": "call me"}), "customer.phone", "value_error"),
        (valid(customer={"email": "a@example.com", "locale": "fr"}), "customer.locale", "value_error"),
        (valid(description=""), "description", "string_too_short"),
        (valid(description="   \n\t "), "description", "string_too_short"),
        (valid(description="x" * 5001), "description", "string_too_long"),
        (valid(amount={"value": "10.00", "currency": "eur"}), "amount.currency", "string_pattern_mismatch"),
        (valid(amount={"value": "10.00", "currency": "EURO"}), "amount.currency", "string_pattern_mismatch"),
        (valid(amount={"value": "10.00"}), "amount.currency", "missing"),
        (valid(amount={"value": "-1", "currency": "EUR"}), "amount.value", "greater_than_equal"),
        (valid(amount={"value": "1.005", "currency": "EUR"}), "amount.value", "decimal_max_places"),
        (valid(channel="fax"), "channel", "literal_error"),
        (valid(occurredAt="yesterday"), "occurredAt", "datetime_from_date_parsing"),
        (valid(references={"9-starts-with-digit": "x"}), "references.9-starts-with-digit.[key]", None),
        (valid(unexpected="x"), "unexpected", "extra_forbidden"),
        (
            valid(customer={"email": "a@example.com", "nickname": "al"}),
            "customer.nickname",
            "extra_forbidden",
        ),
        ({"customer": {"email": "a@example.com"}}, "description", "missing"),
        ({"description": "x"}, "customer", "missing"),
    ],
)
def test_each_invalid_field_is_named_by_its_dotted_path(document, field, error_type):
    errors = invalid_fields(body(**document))

    assert field in errors, errors
    if error_type:
        assert errors[field]["type"] == error_type
    assert errors[field]["message"]


def test_a_description_of_exactly_5000_characters_is_accepted():
    assert len(parse_submission(body(**valid(description="x" * 5000)), JSON).description) == 5000


def test_every_bad_field_is_listed_at_once():
    errors = invalid_fields(
        body(
            customer={"email": "nope"},
            description="",
            channel="pigeon",
            amount={"value": "5", "currency": "usd"},
            colour="blue",
        )
    )

    assert set(errors) == {"customer.email", "description", "channel", "amount.currency", "colour"}


BAD_INPUTS = {
    "customer": {
        "email": "alice.private-name",
        "phone": "ring 0800 PRIVATE",
        "locale": "klingon-secret",
        "name": "N" * 201,
    },
    "description": "Confidential-story " * 300,
    "channel": "carrier-pigeon-secret",
    "occurredAt": "the-night-of-secrets",
    "amount": {"value": "lots-of-money", "currency": "secret-currency"},
    "subject": "Hidden subject line " * 20,
}


def test_error_messages_never_echo_what_was_submitted():
    with pytest.raises(InvalidSubmission) as raised:
        parse_submission(json.dumps(BAD_INPUTS).encode(), JSON)

    errors = raised.value.errors
    assert len(errors) >= 9
    reported = json.dumps(errors, ensure_ascii=False) + str(raised.value)
    for secret in (
        "alice.private-name",
        "private-name",
        "PRIVATE",
        "klingon",
        "NNNNN",
        "Confidential",
        "carrier-pigeon",
        "night-of-secrets",
        "lots-of-money",
        "secret-currency",
        "Hidden subject",
    ):
        assert secret not in reported


@pytest.mark.parametrize(
    "address",
    ["bob@secret-domain", "carol.secret@exa_mple.com", "dave secret@example.com", "erin@@secretmail.com"],
)
def test_a_bad_email_address_is_not_echoed(address):
    errors = invalid_fields(body(**valid(customer={"email": address})))

    reported = json.dumps(errors, ensure_ascii=False)
    assert address not in reported
    local, _, domain = address.rpartition("@")
    assert local not in reported
    assert domain not in reported


def test_a_bad_international_email_domain_is_not_echoed():
    errors = invalid_fields(body(**valid(customer={"email": "li@secretcorp😀.com"})))

    assert "secretcorp" not in json.dumps(errors, ensure_ascii=False)


# ------------------------------------------------------------------ HTML form


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_form_fields_map_to_the_nested_document():
    document = form_to_document(
        {
            "name": "Alice",
            "email": "alice@example.com",
            "phone": "+86 21 5555 0000",
            "customerId": "P-1001",
            "locale": "zh-CN",
            "subject": "Double charge",
            "description": "Charged twice",
            "occurredAt": "2026-03-04T18:20",
            "desiredResolution": "Refund",
            "referenceName": "transaction",
            "referenceId": "TX-77",
            "amountValue": "150.00",
            "amountCurrency": "CNY",
        }
    )

    assert document == {
        "channel": "web",
        "customer": {
            "name": "Alice",
            "email": "alice@example.com",
            "phone": "+86 21 5555 0000",
            "id": "P-1001",
            "locale": "zh-CN",
        },
        "subject": "Double charge",
        "description": "Charged twice",
        "occurredAt": "2026-03-04T18:20",
        "desiredResolution": "Refund",
        "references": {"transaction": "TX-77"},
        "amount": {"value": "150.00", "currency": "CNY"},
    }


def test_a_reference_without_a_name_is_called_reference():
    assert form_to_document({"referenceId": "TX-1"})["references"] == {"reference": "TX-1"}


def test_an_amount_without_currency_is_reported_on_amount_currency():
    errors = invalid_fields(form(email="a@example.com", description="x", amountValue="10"), FORM)
    assert "amount.currency" in errors


def test_a_submitted_form_becomes_a_complaint_from_the_web_channel():
    complaint = parse_submission(
        form(
            name="Alice",
            email="alice@example.com",
            description="Charged  twice & no refund",
            referenceName="order",
            referenceId="O-9",
            amountValue="99.50",
            amountCurrency="GBP",
            phone="",  # left blank in the form: not a phone number
        ),
        FORM + "; charset=UTF-8",
    )

    assert complaint.channel == "web"
    assert complaint.customer.name == "Alice"
    assert complaint.customer.phone is None
    assert complaint.description == "Charged  twice & no refund"
    assert complaint.references == {"order": "O-9"}
    assert complaint.amount.value == Decimal("99.50")
    assert complaint.amount.currency == "GBP"


def test_a_form_may_choose_another_public_channel():
    complaint = parse_submission(form(email="a@example.com", description="x", channel="app"), FORM)
    assert complaint.channel == "app"


def test_a_form_in_chinese_is_read_as_utf8():
    complaint = parse_submission(form(email="li@example.com", description="重复扣款", name="李娜"), FORM)
    assert complaint.description == "重复扣款"
    assert complaint.customer.name == "李娜"


def test_an_empty_form_reports_the_required_fields():
    errors = invalid_fields(b"", FORM)
    assert {"customer.email", "description"} <= set(errors)


def test_blank_form_fields_are_dropped():
    assert form_fields(b"name=&email=a%40example.com&phone=+++") == {"email": "a@example.com"}


def test_a_form_that_is_not_utf8_is_malformed():
    with pytest.raises(MalformedBody):
        parse_submission(b"description=\xff\xfe", FORM)
