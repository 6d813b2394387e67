"""S3: the raw emails SES receipt rules store (the local SMTP listener stores them the same way), read by
the id SES gave the message under the rule's object key prefix; and the files complainants send."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from complaints.core.errors import ComplaintsError, MailNotFound, TransientError, UploadNotFound
from complaints.core.ports import StoredFile, UploadForm

_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
_TRANSIENT = frozenset({"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "500", "503"})


class S3MailStore:
    """intake.ports.MailStore on a boto3 `s3` client."""

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def _key(self, mail_id: str) -> str:
        if not mail_id or "/" in mail_id or mail_id.startswith("."):
            raise MailNotFound("not an SES message id")
        return f"{self._prefix}{mail_id}"

    def read(self, mail_id: str) -> bytes:
        key = self._key(mail_id)
        with _s3_errors(MailNotFound):
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def location(self, mail_id: str) -> str:
        return f"s3://{self._bucket}/{self._key(mail_id)}"


class S3FileStore:
    """core.ports.FileStore on a boto3 `s3` client: uploads by presigned POST (S3 enforces the size, the type
    and the expiry the form is signed with), downloads by presigned GET.

    `client`: the client, or a function that makes it on first use (an S3 client loads S3's large service
    model: a function whose page shows no file never pays for it)."""

    def __init__(self, client: Any, bucket: str):
        self._given = client
        self._made: Any = None
        self._bucket = bucket

    @property
    def _client(self) -> Any:
        if self._made is None:
            self._made = self._given() if callable(self._given) else self._given
        return self._made

    def upload_form(
        self,
        prefix: str,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        redirect: str | None,
        filename: str | None = None,
    ) -> UploadForm:
        ending = {"success_action_redirect": redirect} if redirect else {"success_action_status": "201"}
        fields = {"Content-Type": content_type, **ending}
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions += [["starts-with", "$key", prefix], ["content-length-range", 1, max_bytes]]
        # ${filename}: S3 puts the name of the file the browser sends there.
        key = prefix + (filename or "${filename}")
        with _s3_errors():
            form = self._client.generate_presigned_post(
                Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
            )
        return UploadForm(form["url"], form["fields"], datetime.now(UTC) + timedelta(seconds=expires_in))

    def stat(self, key: str) -> StoredFile | None:
        try:
            with _s3_errors():
                head = self._client.head_object(Bucket=self._bucket, Key=key)
        except UploadNotFound:
            return None
        return StoredFile(key=key, size=int(head["ContentLength"]), content_type=head.get("ContentType", ""))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with _s3_errors():
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def read(self, key: str) -> bytes:
        with _s3_errors():
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        with _s3_errors():
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def location(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"

    def download_url(self, location: str, filename: str, expires_in: int) -> str:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        with _s3_errors():
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition},
                ExpiresIn=expires_in,
            )


@contextmanager
def _s3_errors(missing: type[ComplaintsError] = UploadNotFound) -> Iterator[None]:
    """S3's errors as domain errors: a missing object or bucket as `missing`, throttling and S3's own
    failures as TransientError (retried), anything else (access denied: a configuration fault) as is."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _MISSING:
            raise missing(f"S3 {code}") from error
        if code in _TRANSIENT:
            raise TransientError(f"S3 {code}") from error
        raise ComplaintsError(f"S3 {code}") from error
    except BotoCoreError as error:
        raise TransientError(type(error).__name__) from error
