"""The raw emails SES receipt rules store in S3 (the local SMTP listener stores them the same way): read
by the id SES gave the message, under the rule's object key prefix."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.core.errors import ComplaintsError, MailNotFound, TransientError

_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404"})
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
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                raise MailNotFound(f"S3 {code}") from error
            if code in _TRANSIENT:
                raise TransientError(f"S3 {code}") from error
            raise ComplaintsError(f"S3 {code}") from error
        except BotoCoreError as error:
            raise TransientError(type(error).__name__) from error

    def location(self, mail_id: str) -> str:
        return f"s3://{self._bucket}/{self._key(mail_id)}"
