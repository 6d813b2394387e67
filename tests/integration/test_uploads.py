"""A complainant's files, through the API and S3 as an app sends them: the conversation function signs a
form, the file goes straight to S3 (moto, checking the form's policy as S3 does: infra/moto_hooks.py, 13),
the function checks it again and adds it to the case with its hash in the evidence chain."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
import requests

from complaints.core.evidence import EvidenceItem, verify
from infra import moto_hooks
from tests.integration.conftest import Aws

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 40


@pytest.fixture
def case(aws: Aws) -> tuple[str, str]:
    answer = aws.http.post(
        "/complaints",
        json={"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."},
    )
    accepted = answer.get_json()
    return accepted["complaintId"], accepted["accessCode"]


def start(aws: Aws, case: tuple[str, str], content_type: str, filename: str = "slip.png") -> Any:
    complaint_id, code = case
    return aws.http.post(
        f"/complaints/{complaint_id}/uploads",
        json={"filename": filename, "contentType": content_type},
        headers={"X-Access-Code": code},
    )


def send(
    form: dict[str, Any], data: bytes, content_type: str | None = None, **fields: str
) -> requests.Response:
    """What an app does with the form: a multipart POST to S3, the form's fields first, the file last."""
    sent = {**form["fields"], **fields}
    if content_type:
        sent["Content-Type"] = content_type
    return requests.post(form["url"], data=sent, files={"file": ("slip.png", data)}, timeout=10)


def finish(aws: Aws, case: tuple[str, str], started: dict[str, Any], name: str = "slip.png") -> Any:
    """The app tells the API the file is there: the form's key, its ${filename} filled in as S3 did."""
    complaint_id, code = case
    return aws.http.post(
        f"/complaints/{complaint_id}/uploads/{started['uploadId']}",
        json={"key": started["fields"]["key"].replace("${filename}", name)},
        headers={"X-Access-Code": code},
    )


def evidence(aws: Aws, complaint_id: str) -> list[EvidenceItem]:
    items = [i for i in aws.items("evidence") if i["pk"] == f"CASE#{complaint_id}"]
    return [EvidenceItem.model_validate(i) for i in items]


def test_a_file_goes_to_s3_with_the_signed_form_and_its_hash_into_the_chain(aws: Aws, case):
    form = start(aws, case, "image/png")
    assert form.status_code == 201, form.get_data(as_text=True)
    started = form.get_json()
    assert started["maxBytes"] == 10 * 1024 * 1024

    assert send(started, PNG).status_code == 201
    answer = finish(aws, case, started)

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert "s3://" not in answer.get_data(as_text=True)  # where it is kept is not the complainant's to know
    (file,) = answer.get_json()["files"]
    assert (file["filename"], file["sha256"]) == ("slip.png", hashlib.sha256(PNG).hexdigest())
    chain = evidence(aws, case[0])
    assert [i.data["sha256"] for i in chain] == [file["sha256"]] and verify(chain).intact
    status = aws.http.get(f"/complaints/{case[0]}", headers={"X-Access-Code": case[1]}).get_json()
    assert status["messages"][0]["files"][0]["sha256"] == file["sha256"]


def test_a_file_over_the_limit_is_refused_by_s3(aws: Aws, case, monkeypatch):
    started = start(aws, case, "image/png").get_json()
    too_large = PNG + b"\x00" * (10 * 1024 * 1024)

    refused = send(started, too_large)

    assert refused.status_code == 400 and "EntityTooLarge" in refused.text
    assert finish(aws, case, started).status_code == 404  # nothing was stored


def test_a_type_other_than_the_signed_one_is_refused_by_s3_and_a_type_not_taken_gets_no_form(aws: Aws, case):
    started = start(aws, case, "image/png").get_json()

    refused = send(started, b"<script>alert(1)</script>", content_type="text/html")

    assert refused.status_code == 403 and "Policy Condition failed" in refused.text
    assert start(aws, case, "application/x-msdownload").status_code == 422
    assert aws.items("message") == []


def test_an_expired_form_is_refused_by_s3(aws: Aws, case, monkeypatch):
    started = start(aws, case, "image/png").get_json()
    later = time.time() + 16 * 60  # the form works for 15 minutes
    monkeypatch.setattr("infra.moto_hooks.datetime", _clock_at(later))

    refused = send(started, PNG)

    assert refused.status_code == 403 and "Policy expired" in refused.text


def test_a_file_that_is_not_what_its_type_says_is_deleted_and_refused(aws: Aws, case):
    started = start(aws, case, "image/png").get_json()
    assert send(started, b"MZ\x90\x00 this is an executable").status_code == 201  # S3 cannot tell

    answer = finish(aws, case, started)

    assert answer.status_code == 422
    listed = aws.client("s3").list_objects_v2(Bucket=aws.tpl.buckets["AttachmentsBucket"], Prefix="uploads/")
    assert listed.get("KeyCount", 0) == 0 and aws.items("message") == []


def test_the_upload_is_authorized_as_the_conversation_functions_role(aws: Aws, case):
    started = start(aws, case, "image/png").get_json()
    send(started, PNG)

    checks = [
        (f, c.action)
        for f, c, allowed in moto_hooks.recorded_checks()
        if allowed and c.action == "s3:PutObject"
    ]
    assert ("ConversationFunction", "s3:PutObject") in checks


def _clock_at(timestamp: float) -> Any:
    from datetime import UTC, datetime

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(timestamp, tz or UTC)

    return Later
