"""The Step Functions task "Send acknowledgement": what the state machine sends the acknowledge function
and what it answers (the JSON keys are the state machine's, camelCase; its paths read them); and what SES
sends the email intake function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel


class Acknowledged(BaseModel):
    complaintId: str
    acknowledgedAt: str  # ISO 8601


class AcknowledgeRequest(BaseModel):
    Result: ClassVar[type[BaseModel]] = Acknowledged

    complaintId: str


# ---------------------------------------------------------------- SES receipt rule, action "Lambda"
# What SES sends the email intake function for each email it received and stored in S3: only what intake
# reads is declared (the message id, the envelope recipients, the scan's verdicts); the rest is ignored, so
# an email without a To header or a Date (Bcc, broken mailers) is not refused.


@dataclass(frozen=True)
class Delivery:
    """What the mail system says about one delivered email: SES's message id (the key of the stored
    message), when it arrived, the envelope recipients, and the verdicts of its scan."""

    mail_id: str
    received_at: datetime | None = None
    recipients: list[str] = field(default_factory=list)
    spam: bool = False
    virus: bool = False


class SesVerdict(BaseModel):
    status: str = "PROCESSING_FAILED"


class SesReceipt(BaseModel):
    recipients: list[str] = []
    spamVerdict: SesVerdict = SesVerdict()
    virusVerdict: SesVerdict = SesVerdict()


class SesMail(BaseModel):
    messageId: str
    timestamp: datetime | None = None


class SesMessage(BaseModel):
    mail: SesMail
    receipt: SesReceipt


class SesRecord(BaseModel):
    eventSource: Literal["aws:ses"]
    ses: SesMessage

    def delivery(self) -> Delivery:
        receipt = self.ses.receipt
        return Delivery(
            mail_id=self.ses.mail.messageId,
            received_at=self.ses.mail.timestamp,
            recipients=receipt.recipients,
            spam=receipt.spamVerdict.status == "FAIL",
            virus=receipt.virusVerdict.status == "FAIL",
        )


class SesNotice(BaseModel):
    Records: list[SesRecord]
