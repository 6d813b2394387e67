"""After approval: the remedy through the ledger, the customer's answer, the final response, and closure."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from complaints.core import stats
from complaints.core.calendar import Policy, real_seconds
from complaints.core.clock import Clock, utc_now
from complaints.core.errors import ConflictError
from complaints.core.models import CaseEvent, Status
from complaints.core.ports import Conversation, LedgerAdapter, Mailer
from complaints.core.reply_address import reply_address
from complaints.core.retry import recorded_after_sending
from complaints.core.rules import ResolutionPolicy
from complaints.core.settings import Settings
from complaints.core.tasks import MONEY_REMEDIES, CustomerAnswer, Findings
from complaints.presentation.email import compose
from complaints.presentation.i18n import messages
from complaints.presentation.render import local_time
from complaints.resolution.contracts import (
    AnswerRecorded,
    Closed,
    CustomerAsked,
    FinalResponseSent,
    RemedyApplied,
)
from complaints.resolution.ports import ResolutionRepository
from complaints.tasklinks.links import link_url, open_link

_OUTCOME_OF = {
    "NO_ANSWER": "close",
    "CUSTOMER_CONFIRMED": "close",
    "REOPENED": "reopen",
    "CUSTOMER_DISSATISFIED": "final",
}


class ResolutionService:
    def __init__(
        self,
        repository: ResolutionRepository,
        ledger: LedgerAdapter,
        mailer: Mailer,
        policy: Policy,
        resolution: ResolutionPolicy,
        settings: Settings,
        signing_key: bytes,
        clock: Clock = utc_now,
        conversation: Conversation | None = None,
    ):
        self._repository = repository
        # Remembers which case each email to the complainant was about, for a reply by In-Reply-To.
        self._conversation = conversation
        self._ledger = ledger
        self._mailer = mailer
        self._policy = policy
        self._rules = resolution
        self._settings = settings
        self._key = signing_key
        self._clock = clock

    def apply_remedy(self, complaint_id: str) -> RemedyApplied:
        """Pay through the ledger adapter, once: the remedy id is the case's n-th remedy, so a retried task
        pays nothing twice (the adapter is idempotent by it) and a reopened case's new remedy is another."""
        case, _ = self._repository.get(complaint_id)
        answer_seconds = self.answer_wait_seconds()
        if case.remedy_ref:  # applied already (a retried task)
            return RemedyApplied(
                complaintId=complaint_id, reference=case.remedy_ref, answerSeconds=answer_seconds
            )
        findings = Findings.model_validate(case.findings or {})
        remedy_id = f"{complaint_id}-R{case.remedy_count + 1}"
        reference = "none"
        if findings.remedy in MONEY_REMEDIES:
            assert findings.amount is not None and findings.currency is not None
            reference = self._ledger.pay(
                complaint_id, remedy_id, findings.remedy, findings.amount, findings.currency
            )
        event = CaseEvent(at=self._clock(), type="REMEDY_APPLIED", params={"remedy": findings.remedy})
        self._repository.record_remedy(case, reference, event)
        return RemedyApplied(complaintId=complaint_id, reference=reference, answerSeconds=answer_seconds)

    def answer_wait_seconds(self) -> int:
        return max(
            1, round(real_seconds(self._rules.customer_answer_days * 86400, self._settings.time_scale))
        )

    def ask_customer(self, complaint_id: str, token: str, timeout_seconds: float) -> CustomerAsked:
        """Email the complainant the findings, the remedy and when to expect it, with a link to say
        whether it is resolved; the case waits AWAITING_CONFIRMATION."""
        case, _ = self._repository.get(complaint_id)
        current = self._repository.get_link(case.confirm_link_id) if case.confirm_link_id else None
        now = self._clock()
        if current is not None and current.token == token:
            # The same wait asked again (delivered again, or retried after a failure part-way): the link
            # exists; the status and the email follow unless they are done.
            link = current
        else:
            customer = SimpleNamespace(
                id=f"customer:{complaint_id}", name=case.customer.name or "", email=case.customer.email
            )
            link = open_link(complaint_id, "confirm", "customer", customer, token, now, timeout_seconds)
            self._repository.put_link(link, None, CaseEvent(at=now, type="RESOLUTION_SENT"))
        case = self._repository.get(complaint_id)[0]
        if link is not current or case.status != Status.AWAITING_CONFIRMATION:
            self._repository.await_confirmation(case, now)
        if link.notified_at is not None:
            return CustomerAsked(complaintId=complaint_id)
        findings = Findings.model_validate(case.findings or {})
        text = messages(case.locale)
        expected = self._policy.add_business_days(now, self._rules.expect_payment_within_business_days)
        mail_id = self._mailer.send(
            compose(
                "resolution_email",
                to=[case.customer.email],
                reply_to=reply_address(self._settings.sender_email, complaint_id, self._key),
                subject=text["resolution"]["subject"].format(complaint_id=complaint_id),
                t=text,
                lang=case.locale,
                findings=findings,
                money=findings.remedy in MONEY_REMEDIES,
                expected=local_time(expected, self._policy.calendar.timezone, "%Y-%m-%d"),
                url=link_url(self._settings.links_base(case.public_base_url), self._key, link),
                complaint_id=complaint_id,
            )
        )
        self._remember(mail_id, complaint_id)
        recorded_after_sending(lambda: self._repository.mark_notified(link.link_id, self._clock()))
        return CustomerAsked(complaintId=complaint_id)

    def record_answer(self, complaint_id: str, answer: dict[str, Any] | None) -> AnswerRecorded:
        """yes (or no answer in time) -> close; no -> reopened once to the department lead; a second no ->
        the final response letter, then close."""
        case, events = self._repository.get(complaint_id)
        if case.status != Status.AWAITING_CONFIRMATION:
            # Recorded already (a retried task): answer as the first time did, change nothing.
            recorded = next((e.type for e in reversed(events) if e.type in _OUTCOME_OF), "NO_ANSWER")
            return AnswerRecorded(complaintId=complaint_id, outcome=_OUTCOME_OF[recorded])
        now = self._clock()
        parsed = None if answer is None else CustomerAnswer.model_validate(answer)
        if parsed is None:
            outcome, kind = "close", "NO_ANSWER"
        elif parsed.resolved == "yes":
            outcome, kind = "close", "CUSTOMER_CONFIRMED"
        elif not case.reopened:
            outcome, kind = "reopen", "REOPENED"
        else:
            outcome, kind = "final", "CUSTOMER_DISSATISFIED"
        event = CaseEvent(at=now, type=kind)
        if parsed is not None and outcome == "reopen":
            self._repository.reopen(case, parsed, event)
        else:
            self._repository.record_customer_answer(case, parsed, event)
        return AnswerRecorded(complaintId=complaint_id, outcome=outcome)

    def send_final_response(self, complaint_id: str) -> FinalResponseSent:
        """The final response letter: our position and the customer's right to refer the complaint to
        the ombudsman or ADR body (FCA DISP 1.6, UKGC)."""
        case, _ = self._repository.get(complaint_id)
        if case.final_response_sent_at is not None:  # sent already (a retried task)
            return FinalResponseSent(complaintId=complaint_id)
        text = messages(case.locale)
        findings = Findings.model_validate(case.findings or {})
        mail_id = self._mailer.send(
            compose(
                "final_response_email",
                to=[case.customer.email],
                reply_to=reply_address(self._settings.sender_email, complaint_id, self._key),
                subject=text["final_response"]["subject"].format(complaint_id=complaint_id),
                t=text,
                lang=case.locale,
                findings=findings,
                complaint_id=complaint_id,
            )
        )
        self._remember(mail_id, complaint_id)
        self._repository.record_final_response(case, CaseEvent(at=self._clock(), type="FINAL_RESPONSE"))
        return FinalResponseSent(complaintId=complaint_id)

    def _remember(self, mail_id: str, complaint_id: str) -> None:
        """A reply that names this email (In-Reply-To) reaches the case, as one to its reply address does."""
        if self._conversation is not None:
            recorded_after_sending(lambda: self._conversation.remember_sent_mail(mail_id, complaint_id))

    def close(self, complaint_id: str) -> Closed:
        """CLOSED, with the times, CSAT and remedy on the case; an archive record kept for the retention
        period; the investigator's open-case count goes down: one transaction (it used to be three
        writes, and a step retried after the first found the case CLOSED and never archived or released
        it)."""
        for attempt in range(3):
            case, _ = self._repository.get(complaint_id)
            if case.status == Status.CLOSED:  # closed before: with its archive and release, all at once
                return Closed(complaintId=complaint_id)
            now = self._clock()
            counted = stats.closed(case, now, self._settings.time_scale)
            try:
                self._repository.close_case(
                    case,
                    CaseEvent(at=now, type="CLOSED"),
                    stats.tally(now, self._policy.calendar.timezone, complaint_id, counted),
                    now + timedelta(days=365 * self._rules.archive_years),
                )
            except ConflictError:
                if attempt == 2:
                    raise
                continue  # the case or the roster counter changed since it was read: read again
            return Closed(complaintId=complaint_id)
        raise AssertionError("unreachable")
