"""Email intake: mail to the complaints address becomes a complaint; a reply to an email we sent joins its
case's conversation; anything else waits for ops.

A reply finds its case by the signed reply address it was sent to (core/reply_address.py), or by the
Message-ID of one of our emails in In-Reply-To or References (the id SES gave it, remembered when sent),
never by a ticket number in the subject or text, which anyone can type. And it joins the case only when it
comes from the case's customer: a reply from any other address (a forwarded thread, a colleague, a
stranger who got hold of the reply address) is held for ops, and the customer never sees it. A fresh email
that quotes a ticket number is a new complaint: triage links it to the earlier case when it is the same
customer's.

The same delivery twice (Lambda's retries of an asynchronous invoke) changes nothing the second time: the
SES message id is the new case's idempotency key and the message's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from complaints.core.clock import Clock, utc_now
from complaints.core.conversation import FileRef, HeldMail, Message
from complaints.core.errors import CaseNotFound, InvalidSubmission
from complaints.core.models import CaseEvent, ComplaintIn, CustomerIn
from complaints.core.ports import Callbacks, Conversation, FileStore
from complaints.core.reply_address import case_of
from complaints.core.settings import Settings
from complaints.intake.answers import answer_question
from complaints.intake.contracts import Delivery
from complaints.intake.inbound_email import InboundEmail, parse
from complaints.intake.ports import CaseRepository, MailStore
from complaints.intake.service import IntakeService
from complaints.intake.uploads import add_to_chain, safe_filename

MAX_DESCRIPTION = 5000
MAX_THREAD_IDS = 10  # the nearest Message-IDs a reply names are looked up, not a whole long thread
MAX_SUBJECT = 200


@dataclass(frozen=True)
class MailOutcome:
    outcome: Literal["created", "threaded", "held", "ignored"]
    complaint_id: str | None = None
    reason: str | None = None
    first_time: bool = True  # False: this delivery was handled before


def language_of(mail: InboundEmail) -> str:
    """The language to answer in: Chinese when a fifth of the letters are Han characters, else English."""
    sample = f"{mail.subject}\n{mail.text}"[:4000]
    letters = [ch for ch in sample if ch.isalpha()]
    han = sum(1 for ch in letters if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return "zh-CN" if letters and han / len(letters) >= 0.2 else "en"


class MailIntake:
    def __init__(
        self,
        intake: IntakeService,
        cases: CaseRepository,
        conversation: Conversation,
        mail: MailStore,
        settings: Settings,
        reply_key: bytes,
        clock: Clock = utc_now,
        files: FileStore | None = None,
        callbacks: Callbacks | None = None,
    ):
        self._intake = intake
        self._callbacks = callbacks  # a reply answers the investigator's question (intake/answers.py)
        self._cases = cases
        self._conversation = conversation
        self._mail = mail
        self._settings = settings
        self._key = reply_key
        self._clock = clock
        # Where attachments are kept for staff to download, beside the raw email (None: in the email only).
        self._files = files
        local, _, domain = settings.sender_email.lower().rpartition("@")
        self._mailbox = (local.split("+", 1)[0], domain)

    def receive(self, delivery: Delivery) -> MailOutcome:
        location = self._mail.location(delivery.mail_id)
        mail = parse(self._mail.read(delivery.mail_id))
        if mail.automatic or not mail.sender or self._is_ours(mail.sender):
            return MailOutcome("ignored", reason="automatic" if mail.automatic else "no_sender")
        claimed, forged = self._thread_of(mail, delivery.recipients)
        if delivery.recipients and not any(self._is_ours(r.lower()) for r in delivery.recipients):
            # The receipt rule covers the whole domain: mail for another of its mailboxes is not a complaint.
            return self._hold(delivery, mail, location, "other_mailbox", claimed)
        if delivery.virus or delivery.spam:
            return self._hold(delivery, mail, location, "virus" if delivery.virus else "spam", claimed)
        if claimed is None and forged:
            return self._hold(delivery, mail, location, "unknown_reply_address", None)
        if claimed is not None:
            return self._add_to_case(claimed, delivery, mail, location)
        return self._new_complaint(delivery, mail, location)

    # ------------------------------------------------------------ threading

    def _is_ours(self, address: str) -> bool:
        local, _, domain = address.rpartition("@")
        return (local.split("+", 1)[0], domain) == self._mailbox

    def _thread_of(self, mail: InboundEmail, envelope: list[str]) -> tuple[str | None, bool]:
        """The case a reply belongs to, and whether it came to a reply address that does not verify."""
        forged = False
        for address in dict.fromkeys(a.lower() for a in [*envelope, *mail.recipients]):
            if not self._is_ours(address) or "+" not in address.rpartition("@")[0]:
                continue
            found = case_of(address, self._key)
            if found is not None:
                return found, False
            forged = True
        for message_id in mail.thread_ids[:MAX_THREAD_IDS]:
            found = self._conversation.case_of_sent_mail(message_id.strip("<>").partition("@")[0])
            if found is not None:
                return found, False
        return None, forged

    def _hold(
        self, delivery: Delivery, mail: InboundEmail, location: str, reason: str, claimed: str | None
    ) -> MailOutcome:
        held = HeldMail(
            key=delivery.mail_id,
            at=delivery.received_at or self._clock(),
            reason=reason,
            sender=mail.sender,
            subject=mail.subject[:MAX_SUBJECT],
            claimed_case=claimed,
            location=location,
        )
        first = self._conversation.hold_mail(held)
        return MailOutcome("held", None, reason, first)

    # ------------------------------------------------------------ the case

    def _message(self, complaint_id: str, delivery: Delivery, mail: InboundEmail, location: str) -> Message:
        files = []
        for n, part in enumerate(mail.attachments, start=1):
            name = safe_filename(part.filename)
            kept = f"{location}#attachment-{n}"
            if self._files is not None:
                key = f"uploads/{complaint_id}/{delivery.mail_id}/{n}-{name}"
                self._files.put(key, part.data, part.content_type)
                kept = self._files.location(key)
            files.append(
                FileRef(
                    filename=name,
                    content_type=part.content_type,
                    size=len(part.data),
                    sha256=part.sha256,
                    location=kept,
                )
            )
        return Message(
            key=delivery.mail_id,
            at=delivery.received_at or self._clock(),
            channel="email",
            author="customer",
            subject=mail.subject[:MAX_SUBJECT] or None,
            text=mail.text,
            files=files,
        )

    def _record(self, complaint_id: str, message: Message) -> bool:
        # The event is when the case took the message in (after the case's own RECEIVED, for the email that
        # made it); the message keeps when it arrived.
        event = CaseEvent(
            at=self._clock(),
            type="MESSAGE_RECEIVED",
            params={"channel": "email", "files": str(len(message.files))},
        )
        return add_to_chain(self._conversation, complaint_id, message, event)

    def _add_to_case(
        self, claimed: str, delivery: Delivery, mail: InboundEmail, location: str
    ) -> MailOutcome:
        try:
            case, _ = self._cases.get(claimed)
        except CaseNotFound:
            return self._hold(delivery, mail, location, "unknown_case", claimed)
        if case.customer.email.lower() != mail.sender:
            return self._hold(delivery, mail, location, "other_sender", claimed)
        first = self._record(claimed, self._message(claimed, delivery, mail, location))
        answer_question(self._cases, self._callbacks, claimed)
        return MailOutcome("threaded", claimed, first_time=first)

    def _new_complaint(self, delivery: Delivery, mail: InboundEmail, location: str) -> MailOutcome:
        try:
            complaint = ComplaintIn(
                customer=CustomerIn(
                    email=mail.sender, name=mail.sender_name[:200] or None, locale=language_of(mail)
                ),
                channel="email",
                subject=mail.subject[:MAX_SUBJECT] or None,
                description=(mail.text or mail.subject)[:MAX_DESCRIPTION],
            )
        except (ValidationError, InvalidSubmission):
            return self._hold(delivery, mail, location, "unreadable", None)
        submission = self._intake.submit(
            complaint, idempotency_key=f"email:{delivery.mail_id}", base_url=self._settings.api_url
        )
        complaint_id = submission.accepted.complaintId
        self._record(complaint_id, self._message(complaint_id, delivery, mail, location))
        return MailOutcome("created", complaint_id, first_time=submission.created)
