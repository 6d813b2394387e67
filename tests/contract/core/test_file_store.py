"""core.ports.FileStore: the fake and S3FileStore (on moto's S3, which checks the forms' policies as S3 does:
infra/moto_hooks.py, 13) keep, read and delete the complainants' files alike; the S3 adapter's forms and
download links work as a browser uses them."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from complaints.adapters.s3 import S3FileStore
from complaints.core.errors import UploadNotFound
from complaints.core.ports import FileStore
from infra import moto_hooks
from tests.fakes import FakeFileStore

BUCKET = "attachments"
PREFIX = "uploads/CMP-20260305-AAAAAA/abcdefghijklmnop/"


@pytest.fixture
def s3_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3FileStore]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    moto_hooks.install()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        client.create_bucket(Bucket=BUCKET)
        yield S3FileStore(client, BUCKET)


@pytest.fixture(params=["fake", "s3"])
def files(request: pytest.FixtureRequest) -> FileStore:
    return FakeFileStore(bucket=BUCKET) if request.param == "fake" else request.getfixturevalue("s3_files")


def put(files: FileStore, name: str, data: bytes, content_type: str) -> str:
    """The file posted as the store's form says (on S3, a real multipart POST with the signed fields)."""
    form = files.upload_form(PREFIX, content_type, 100, 600, None)
    key = form.fields["key"].replace("${filename}", name)
    if isinstance(files, FakeFileStore):
        files.put(key, data, content_type)
        return key
    answer = requests.post(form.url, data=form.fields, files={"file": (name, data)}, timeout=10)
    assert int(answer.status_code) == 201, answer.text
    return key


def test_a_posted_file_is_found_read_and_deleted(files: FileStore):
    key = put(files, "slip.png", b"\x89PNG\r\n\x1a\nrest", "image/png")

    assert key == f"{PREFIX}slip.png"
    stored = files.stat(key)
    assert (stored.key, stored.size, stored.content_type, stored.filename) == (
        key,
        12,
        "image/png",
        "slip.png",
    )
    assert files.read(key) == b"\x89PNG\r\n\x1a\nrest"
    assert files.location(key) == f"s3://{BUCKET}/{key}"
    files.delete(key)
    assert files.stat(key) is None
    with pytest.raises(UploadNotFound):
        files.read(key)


def test_a_file_kept_directly_is_read_as_posted_ones_are(files: FileStore):
    files.put(f"{PREFIX}note.txt", "行".encode(), "text/plain")
    stored = files.stat(f"{PREFIX}note.txt")
    assert (stored.size, stored.content_type) == (3, "text/plain")
    assert files.read(f"{PREFIX}note.txt") == "行".encode()


def test_a_form_names_the_file_when_told_and_a_download_link_is_short_lived(files: FileStore):
    form = files.upload_form(PREFIX, "application/pdf", 100, 600, "https://api.example/done", "statement.pdf")
    assert form.fields["key"] == f"{PREFIX}statement.pdf"
    url = files.download_url(f"s3://{BUCKET}/{PREFIX}statement.pdf", "对账单.pdf", 300)
    assert "300" in url or "Expires=300" in url or "X-Amz-Expires=300" in url


def test_the_s3_download_link_downloads_the_file_under_its_name(s3_files: S3FileStore):
    key = put(s3_files, "slip.png", b"\x89PNG\r\n\x1a\nrest", "image/png")
    answer = requests.get(s3_files.download_url(s3_files.location(key), "转账凭证.png", 300), timeout=10)
    assert answer.content == b"\x89PNG\r\n\x1a\nrest"
    assert "filename*=UTF-8''%E8%BD%AC" in answer.headers["Content-Disposition"]
