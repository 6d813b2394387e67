"""Request bodies as the API receives them: base64 and size limits, HTML forms and JSON (depth, number and
field limits), turned into a ComplaintIn (or a StaffComplaintIn) or a 4xx with the fields at fault."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import ValidationError

from complaints.core.errors import InvalidSubmission, MalformedBody, PayloadTooLarge, UnsupportedMediaType
from complaints.core.models import ComplaintIn, StaffComplaintIn

Submitted = TypeVar("Submitted", ComplaintIn, StaffComplaintIn)

FORM_FIELDS = {
    "name": ("customer", "name"),
    "email": ("customer", "email"),
    "phone": ("customer", "phone"),
    "customerId": ("customer", "id"),
    "locale": ("customer", "locale"),
    "channel": ("channel",),
    "subject": ("subject",),
    "description": ("description",),
    "occurredAt": ("occurredAt",),
    "desiredResolution": ("desiredResolution",),
}


# Limits on what an anonymous body can make the parsers do (the body itself is at most 64 KiB):
# nesting (Python's JSON parser recurses, and a thousand levels exhaust its stack), the digits of a
# number (int() refuses over 4,300, and nothing here needs more than a money amount), and form fields
# (the form has 13; the task pages fewer).
MAX_JSON_DEPTH = 32


MAX_NUMBER_CHARS = 40


MAX_FORM_FIELDS = 64


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def decode_body(body: str | None, is_base64: bool, limit: int) -> bytes:
    raw = (body or "").encode("utf-8")
    if is_base64:
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error as error:
            raise MalformedBody("the body is not valid base64") from error
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; the limit is {limit}")
    return raw


def parse_form(text: str) -> list[tuple[str, str]]:
    """An urlencoded form's fields, at most MAX_FORM_FIELDS of them (MalformedBody over that)."""
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as error:
        raise MalformedBody(f"the form has too many fields; the limit is {MAX_FORM_FIELDS}") from error


def form_fields(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody("the form is not UTF-8") from error
    return {name: value for name, value in parse_form(text) if value.strip()}


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (its strings skipped), without parsing it."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise MalformedBody(f"a number in the body is over {MAX_NUMBER_CHARS} characters")
        value = kind(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise MalformedBody("a number in the body is out of range")
        return value

    return parse


def _no_constant(literal: str) -> Any:
    raise MalformedBody(f"{literal} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """A JSON body, within the limits above: MalformedBody for anything it cannot or should not parse."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedBody("the body is not valid JSON: it is not UTF-8") from error
    if json_depth(text) > MAX_JSON_DEPTH:
        raise MalformedBody(f"the body nests too deep; the limit is {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(
            text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant
        )
    except json.JSONDecodeError as error:
        raise MalformedBody(f"the body is not valid JSON: {error}") from error
    except RecursionError as error:  # json_depth counts too few only for text json.loads refuses anyway
        raise MalformedBody("the body nests too deep") from error


def form_to_document(fields: dict[str, str]) -> dict[str, Any]:
    """The HTML form's flat fields as the JSON API's document."""
    document: dict[str, Any] = {"channel": "web"}
    for name, path in FORM_FIELDS.items():
        if name in fields:
            target = document
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = fields[name]
    if "referenceId" in fields:
        document["references"] = {fields.get("referenceName", "reference"): fields["referenceId"]}
    if "amountValue" in fields:
        document["amount"] = {"value": fields["amountValue"], "currency": fields.get("amountCurrency", "")}
    document.setdefault("customer", {})
    return document


def parse_submission(raw: bytes, content_type: str | None, model: type[Submitted] = ComplaintIn) -> Submitted:
    """A request body (JSON or HTML form) as a ComplaintIn, or as `model` (the staff's StaffComplaintIn).
    Raises the domain's input errors."""
    media = (content_type or "").split(";")[0].strip().lower()
    if is_form(media):
        document: Any = form_to_document(form_fields(raw))
    elif media == "application/json" or media.endswith("+json"):
        document = parse_json(raw)
        if not isinstance(document, dict):
            raise MalformedBody("the body must be a JSON object")
    else:
        raise UnsupportedMediaType(
            f"unsupported content type {media or '(none)'}; "
            "send application/json or application/x-www-form-urlencoded"
        )
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise InvalidSubmission(field_errors(error)) from None


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{"field": "customer.email", "message", "type"}`, never echoing the input.

    A validator's message can quote the input after a colon (email_validator quotes the part of the
    address it rejects), so a value error keeps only the words before the first colon."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "body",
            "message": item["msg"].split(":", 1)[0] if item["type"] == "value_error" else item["msg"],
            "type": item["type"],
        }
        for item in error.errors(include_input=False, include_url=False)
    ]
