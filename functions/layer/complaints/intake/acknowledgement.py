"""The acknowledgement: the complainant's email with the ticket id, what happens next, the final-response
deadline and the status link, sent once per case, and at most a few an hour to any one address."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from complaints.core import ids
from complaints.core.calendar import Policy
from complaints.core.clock import Clock, utc_now
from complaints.core.models import CaseEvent
from complaints.core.ports import Conversation, Mailer
from complaints.core.reply_address import reply_address
from complaints.core.retry import recorded_after_sending
from complaints.core.settings import Settings
from complaints.intake.ports import CaseRepository
from complaints.presentation.email import compose, plain_name
from complaints.presentation.i18n import messages
from complaints.presentation.links import status_url
from complaints.presentation.render import local_time


@dataclass
class Acknowledgement:
    complaintId: str
    acknowledgedAt: str
    sent: bool
    withheld: bool = False  # not sent: the address had its hour's acknowledgements


class Acknowledger:
    def __init__(
        self,
        repository: CaseRepository,
        mailer: Mailer,
        policy: Policy,
        settings: Settings,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        reply_key: bytes | None = None,
        conversation: Conversation | None = None,
    ):
        self._repository = repository
        self._mailer = mailer
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        # Signs the case's reply address (Reply-To), so that a reply reaches the case; None: no Reply-To.
        self._reply_key = reply_key
        # Remembers which case each sent acknowledgement was about, for a reply threaded by In-Reply-To.
        self._conversation = conversation

    def acknowledge(self, complaint_id: str) -> Acknowledgement:
        """Email the complainant, in their language, the ticket id, what happens next, the final-response
        deadline and the status link. Sent once: a retried task finds the acknowledgement recorded.

        Anyone may name any address, so one address gets at most the policy's number of
        acknowledgements an hour: past it the case goes on, its timeline saying none was sent."""
        case, _ = self._repository.get(complaint_id)
        if case.acknowledged_at is not None:
            return Acknowledgement(complaint_id, case.acknowledged_at.isoformat(), sent=False)
        if case.ack_suppressed_at is not None:
            return Acknowledgement(
                complaint_id, case.ack_suppressed_at.isoformat(), sent=False, withheld=True
            )
        limit = self._policy.acknowledgements_per_address_per_hour
        now = self._clock()
        if case.ack_counted_at is None and not self._repository.count_acknowledgement(
            complaint_id,
            ids.recipient_key(case.customer.email),
            f"{now.astimezone(UTC):%Y-%m-%dT%H}",
            limit,
            now,
        ):
            self._repository.mark_ack_withheld(
                complaint_id, CaseEvent(at=now, type="ACK_WITHHELD", params={"limit": str(limit)})
            )
            return Acknowledgement(complaint_id, now.isoformat(), sent=False, withheld=True)
        text = messages(case.locale)
        name = plain_name(case.customer.name)
        zone = self._policy.calendar.timezone
        email = compose(
            "ack_email",
            to=[case.customer.email],
            reply_to=(
                reply_address(self._settings.sender_email, complaint_id, self._reply_key)
                if self._reply_key
                else None
            ),
            subject=text["ack"]["subject"].format(complaint_id=complaint_id),
            t=text,
            lang=case.locale,
            greeting=text["ack"]["greeting"].format(name=name) if name else text["ack"]["greeting_anonymous"],
            complaint_id=complaint_id,
            due=local_time(case.response_due_at, zone, "%Y-%m-%d"),
            status_url=status_url(
                self._settings.links_base(case.public_base_url), complaint_id, case.pending_access_code or ""
            ),
            access_code=case.pending_access_code or "",
        )
        mail_id = self._mailer.send(email)
        now = self._clock()

        def record() -> bool:
            if self._conversation is not None:
                self._conversation.remember_sent_mail(mail_id, complaint_id)
            return self._repository.mark_acknowledged(complaint_id, CaseEvent(at=now, type="ACKNOWLEDGED"))

        recorded_after_sending(record, sleep=self._sleep)
        return Acknowledgement(complaint_id, now.isoformat(), sent=True)
