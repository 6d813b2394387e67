"""The embedded stack's check of browser uploads (infra/post_policy.py), on forms boto3 signs as it signs
them for S3: expiry, signature, every condition, no field left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from infra.post_policy import refusal

SECRET = "secret-key"


def signed_form(**extra_fields: str) -> dict[str, str]:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    form = client.generate_presigned_post(
        Bucket="attachments",
        Key="uploads/CMP-1/u1/${filename}",
        Fields={"Content-Type": "image/png", "success_action_status": "201"},
        Conditions=[
            {"Content-Type": "image/png"},
            {"success_action_status": "201"},
            ["starts-with", "$key", "uploads/CMP-1/u1/"],
            ["content-length-range", 1, 100],
        ],
        ExpiresIn=600,
    )
    fields = {k.lower(): v for k, v in form["fields"].items()}
    fields["key"] = fields["key"].replace("${filename}", "slip.png")  # what S3 does with ${filename}
    return {**fields, **extra_fields}


def check(form: dict[str, str], size: int = 10, now: datetime | None = None, secret: str | None = SECRET):
    return refusal(
        form,
        size,
        "attachments",
        now or datetime.now(UTC),
        lambda key_id: secret if key_id == "AKIDEXAMPLE" else None,
    )


def test_a_form_used_as_signed_passes():
    assert check(signed_form()) is None


def test_an_expired_form_is_refused():
    refused = check(signed_form(), now=datetime.now(UTC) + timedelta(minutes=11))
    assert (refused.status, refused.code, refused.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


@pytest.mark.parametrize(("size", "code"), [(101, "EntityTooLarge"), (0, "EntityTooSmall")])
def test_a_file_outside_the_size_range_is_refused(size, code):
    refused = check(signed_form(), size=size)
    assert (refused.status, refused.code) == (400, code)


def test_another_type_than_the_signed_one_is_refused():
    refused = check({**signed_form(), "content-type": "text/html"})
    assert (refused.status, refused.code) == (403, "AccessDenied")
    assert "content-type" in refused.message


def test_a_key_outside_the_signed_prefix_is_refused():
    refused = check({**signed_form(), "key": "uploads/CMP-2/u1/slip.png"})
    assert (refused.status, refused.code) == (403, "AccessDenied")


def test_a_field_the_policy_does_not_name_is_refused_but_x_ignore_fields_are_not():
    assert check(signed_form(acl="public-read")).code == "AccessDenied"
    assert check(signed_form(**{"x-ignore-note": "anything"})) is None


def test_a_policy_changed_after_signing_does_not_match_its_signature():
    form = signed_form()
    tampered = {**form, "x-amz-signature": "0" * 64}
    assert check(tampered).code == "SignatureDoesNotMatch"
    assert check(tampered, secret=None) is None  # a credential not known here: not checked


def test_a_form_signed_with_signature_version_2_is_refused_as_s3_refuses_it():
    v2 = {k: v for k, v in signed_form().items() if not k.startswith("x-amz-")}
    v2 |= {"awsaccesskeyid": "AKIDEXAMPLE", "signature": "abc"}
    assert (check(v2).status, check(v2).code) == (400, "InvalidRequest")


def test_a_form_that_is_not_a_policy_is_a_bad_request():
    assert check({**signed_form(), "policy": "not base64 json"}).status == 400
