"""What S3 checks of a browser-based upload (a POST of an HTML form with a policy, "presigned POST"), as AWS
documents it, for the embedded stack (moto stores whatever is posted; infra/moto_hooks.py, section 13):

- it is signed with SigV4 (S3 takes no other signature on a bucket made since 2020);
- the policy (base64 JSON) has not expired;
- its signature is the SigV4 signature of the policy under the credential named in the form;
- every condition holds: `{"field": value}` and `["eq", "$field", value]` exact, `["starts-with", "$field",
  prefix]`, `["content-length-range", min, max]` on the file's size, `{"bucket": name}`;
- every field of the form is named by a condition, except the policy, the signature, the file and
  `x-ignore-*` fields.

`refusal(...)` returns None when the upload may go on, else what S3 answers: (HTTP status, error code,
message)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_EXEMPT = {"policy", "x-amz-signature", "file"}


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message></Error>"
        )


def _denied(message: str) -> Refusal:
    return Refusal(403, "AccessDenied", f"Invalid according to Policy: {message}")


def signature(secret_key: str, credential: str, policy_b64: str) -> str:
    """SigV4 over the policy: the signing key of the credential's date, region and service."""
    _, date, region, service, _ = credential.split("/")
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def _condition(condition: Any) -> tuple[str, str, Any, Any]:
    """(operator, field, value, second value) of one condition, field lower case without its $."""
    if isinstance(condition, dict):
        ((field, value),) = condition.items()
        return "eq", field.lower(), value, None
    operator, first, second = condition
    if operator == "content-length-range":
        return operator, "", int(first), int(second)
    return operator.lower(), str(first).lstrip("$").lower(), second, None


def refusal(
    form: dict[str, str],
    size: int,
    bucket: str,
    now: datetime,
    secret_of: Callable[[str], str | None],
) -> Refusal | None:
    """`form`: the form's fields, names in lower case (the file's field left out); `size`: the file's bytes;
    `secret_of(access key id)`: its secret key, or None when it is not known here (then the signature is
    not checked)."""
    try:
        policy = json.loads(base64.b64decode(form["policy"]))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = [_condition(c) for c in policy.get("conditions", [])]
    except (KeyError, ValueError, TypeError) as error:
        return Refusal(400, "InvalidPolicyDocument", f"Invalid Policy: {error}")
    if form.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        return Refusal(
            400,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        )
    if expiration <= now.astimezone(UTC):
        return _denied("Policy expired.")
    credential = form.get("x-amz-credential", "")
    secret = secret_of(credential.split("/", 1)[0]) if credential else None
    if secret is not None and not hmac.compare_digest(
        signature(secret, credential, form["policy"]), form.get("x-amz-signature", "")
    ):
        return Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
    values = {**form, "bucket": bucket}
    covered = set()
    for operator, field, value, upper in conditions:
        covered.add(field)
        if operator == "content-length-range":
            if size > upper:
                return Refusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if size < value:
                return Refusal(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
                )
            continue
        actual = values.get(field)
        if actual is None:
            return _denied(f'Policy Condition failed: ["{operator}", "${field}", "{value}"]')
        if (operator == "eq" and actual != value) or (
            operator == "starts-with" and not actual.startswith(value)
        ):
            return _denied(f'Policy Condition failed: ["{operator}", "${field}", "{value}"]')
    for field in form:
        if field not in _EXEMPT and field not in covered and not field.startswith("x-ignore-"):
            return _denied(f"Extra input fields: {field}")
    return None
