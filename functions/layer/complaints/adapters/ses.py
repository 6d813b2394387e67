"""The mailer on SES v2: each email sent as raw MIME with a text and an HTML part.

SES gives every email it sends a Message-ID of its own (`<SES message id@email.amazonses.com>`), whatever
the sender wrote, so none is written here: the id `send` returns is the one replies name in In-Reply-To.
An email sent again (a step retried after it sent and before it recorded) arrives again, at least once.
Each one says it was sent by a program (Auto-Submitted, RFC 3834), so auto-responders do not answer it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from complaints.core.errors import MailRejected, TransientError
from complaints.core.ports import Email


class SesMailer:
    """Mailer on SES v2 (a boto3 `sesv2` client)."""

    _TRANSIENT = frozenset(
        {"TooManyRequestsException", "LimitExceededException", "InternalFailure", "Throttling"}
    )

    def __init__(self, client: Any, sender: str):
        self._client = client
        self._sender = sender

    def send(self, email: Email) -> str:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        if email.reply_to:
            message["Reply-To"] = email.reply_to
        message["Date"] = formatdate(usegmt=True)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            sent = self._client.send_email(
                FromEmailAddress=self._sender,
                Content={"Raw": {"Data": message.as_bytes()}},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in self._TRANSIENT:
                raise TransientError(f"SES {code}") from error
            raise MailRejected(f"SES {code}") from error
        except BotoCoreError as error:
            raise TransientError(type(error).__name__) from error
        return sent["MessageId"]
