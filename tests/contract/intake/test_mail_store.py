"""intake.ports.MailStore: the fake and S3MailStore (on moto's S3) read what SES stored the same way."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from complaints.adapters.s3 import S3MailStore
from complaints.core.errors import MailNotFound
from complaints.intake.ports import MailStore
from tests.fakes import FakeMailStore

BUCKET = "inbound-mail"
RAW = b"From: li.wei@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture(params=["fake", "s3"])
def mail_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailStore]:
    if request.param == "fake":
        fake = FakeMailStore(bucket=BUCKET, prefix="inbound/")
        fake.mail["0001abc"] = RAW
        yield fake
        return
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="inbound/0001abc", Body=RAW)
        yield S3MailStore(client, BUCKET, "inbound/")


def test_reads_a_stored_email_by_its_id(mail_store: MailStore) -> None:
    assert mail_store.read("0001abc") == RAW
    assert mail_store.location("0001abc") == f"s3://{BUCKET}/inbound/0001abc"


@pytest.mark.parametrize("mail_id", ["0002missing", "", "../0001abc", "x/0001abc"])
def test_an_unknown_or_malformed_id_is_not_found(mail_store: MailStore, mail_id: str) -> None:
    with pytest.raises(MailNotFound):
        mail_store.read(mail_id)
