"""Investigation: automatic evidence first, then the assigned person's findings, by email link,
with a reminder at 75% of the SLA and escalation to the department lead, then its head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from complaints.core import changes, stats
from complaints.core.calendar import MIN_WAIT_SECONDS, Policy, load_policy, real_seconds
from complaints.core.clock import Clock, utc_now
from complaints.core.conversation import Message
from complaints.core.errors import CallbackFailed, CaseNotFound, ConflictError, TaskGone, TransientError
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.ports import Callbacks, Conversation, Mailer
from complaints.core.reply_address import reply_address
from complaints.core.retry import recorded_after_sending
from complaints.core.rules import Person, TriagePolicy
from complaints.core.settings import Settings
from complaints.core.tasks import CustomerAnswered, Findings, LinkStatus, TaskLink
from complaints.investigation.contracts import (
    AnswerAwaited,
    Asked,
    Clocks,
    FindingsRecorded,
    Gathered,
    QuestionPut,
    Resumed,
)
from complaints.investigation.evidence import gather
from complaints.investigation.ports import EvidenceSource, InvestigationRepository
from complaints.presentation.email import compose, plain_name
from complaints.presentation.i18n import messages
from complaints.presentation.render import local_time
from complaints.tasklinks.links import expires, hand_on, link_url, open_link

LEVELS = ("investigator", "lead", "head")


class InvestigationService:
    def __init__(
        self,
        repository: InvestigationRepository,
        sources: list[EvidenceSource],
        mailer: Mailer,
        triage_policy: TriagePolicy,
        settings: Settings,
        signing_key: bytes,
        callbacks: Callbacks,
        clock: Clock = utc_now,
        timezone: str = "UTC",
        policy: Policy | None = None,
        conversation: Conversation | None = None,
    ):
        self._repository = repository
        self._sources = sources
        self._timezone = timezone  # the day report counters are counted on
        self._policy = policy or load_policy()  # the calendar a question to the complainant waits on
        # Remembers which case each question email was about, for a reply threaded by In-Reply-To.
        self._conversation = conversation
        self._mailer = mailer
        self._roster = triage_policy.roster
        self._approval = triage_policy.approval  # whether findings need an approver
        self._settings = settings
        self._key = signing_key
        self._callbacks = callbacks
        self._clock = clock

    # ------------------------------------------------------------ Step Functions tasks
    def gather_evidence(self, complaint_id: str) -> Gathered:
        """Fetch evidence from every source and chain it; the case becomes INVESTIGATING. Once."""
        case, _ = self._repository.get(complaint_id)
        existing = self._repository.evidence(complaint_id)  # the files the complainant sent so far
        if case.status != Status.TRIAGED:  # gathered already (a retried task)
            return Gathered(complaintId=complaint_id, items=len(existing))
        now = self._clock()
        items = gather(case, self._sources, now, existing)
        event = CaseEvent(at=now, type="EVIDENCE_GATHERED", params={"items": str(len(items))})
        self._repository.start_investigation(case, items, event)
        return Gathered(complaintId=complaint_id, items=len(existing) + len(items))

    def clocks(self, complaint_id: str) -> Clocks:
        """The waits: 75% of the time to the resolution target, then the last 25%, then one whole SLA
        window for the lead and again for the head."""
        case, _ = self._repository.get(complaint_id)
        now = self._clock()
        due = case.resolution_due_at or now
        window = max((due - case.created_at).total_seconds(), 60.0)
        left = max((due - now).total_seconds(), 60.0)
        real = self._wait_seconds
        return Clocks(
            reminderSeconds=real(0.75 * left), finalSeconds=real(0.25 * left), escalationSeconds=real(window)
        )

    def ask(self, complaint_id: str, level: str, token: str, timeout_seconds: float) -> Asked:
        """Email the person at `level` a link to the case page; the task waits for their findings.

        The first ask goes to the assigned investigator. Asked again at the same level (the reminder at
        75%), the same link is re-bound to the new wait, so the first email's link keeps working. At a new
        level (escalation), a new link goes to the lead or head and the old one answers 410.

        `slaMissed` is true when the lead takes over because the investigator's resolution SLA ran out."""
        case, _ = self._repository.get(complaint_id)
        person = self._holder(case, level)
        now = self._clock()
        current = (
            self._repository.get_link(case.investigation_link_id) if case.investigation_link_id else None
        )
        deadline = expires(now, timeout_seconds)
        text = messages(case.locale)
        # The state machine gives the lead the task in two cases: the investigator's last wait ran out (the
        # clocks end it at the resolution due), or the customer said no to the outcome. Only the first
        # leaves the investigator's own link unanswered (or answered too late to reach the wait); a "no"
        # comes after findings sent through a link.
        sla_missed = (
            level == "lead"
            and current is not None
            and current.level == "investigator"
            and (current.status != LinkStatus.DONE or current.kept)
        )
        if hand_on(self._repository, self._callbacks, current, token, now):
            return Asked(complaintId=complaint_id, level=level, reminder=False, slaMissed=sla_missed)
        if current is not None and current.token == token and current.status == LinkStatus.OPEN:
            # The same wait asked again (an invocation delivered again, or retried after its email or the
            # record of it failed): its link exists; its email goes out unless it went already.
            if current.notified_at is None:
                self._notify(current, case, reminder=current.reminded)
            return Asked(complaintId=complaint_id, level=level, reminder=False, slaMissed=sla_missed)
        if current is not None and current.level == level and current.status == LinkStatus.OPEN:
            event = CaseEvent(at=now, type="REMINDER_SENT", params={"assignee": person.name})
            self._repository.rebind_link(current.link_id, token, deadline, event)
            self._notify(current, case, reminder=True)
            return Asked(complaintId=complaint_id, level=level, reminder=True, slaMissed=False)
        link = open_link(complaint_id, "investigate", level, person, token, now, timeout_seconds)
        kind = "INVESTIGATION_ASSIGNED" if level == "investigator" else "ESCALATED"
        if current is not None and current.level == level and "question" in (current.answer or {}):
            # Back from a question to the complainant: a new link for the one who asked, no escalation.
            kind = "INVESTIGATION_RESUMED"
        event = CaseEvent(at=now, type=kind, params={"assignee": person.name, "level": text["levels"][level]})
        # A link still open hands over to the new holder (410); a used one stays "already done" (409).
        still_open = current is not None and current.status == LinkStatus.OPEN
        counted = None
        if kind == "ESCALATED":
            counted = stats.tally(now, self._timezone, complaint_id, stats.escalated("investigation", level))
        self._repository.put_link(link, current.link_id if still_open else None, event, counted)
        self._notify(link, case, reminder=False)
        return Asked(complaintId=complaint_id, level=level, reminder=False, slaMissed=sla_missed)

    def record_findings(self, complaint_id: str, findings: dict[str, Any]) -> FindingsRecorded:
        """Store the findings; the case waits for approval (or goes on to the remedy)."""
        case, _ = self._repository.get(complaint_id)
        parsed = Findings.model_validate(findings)
        if case.findings is None:
            event = CaseEvent(at=self._clock(), type="FINDINGS_RECORDED", params={"remedy": parsed.remedy})
            needs_approval = self._approval.required_level(parsed.remedy, parsed.amount) is not None
            status = Status.AWAITING_APPROVAL if needs_approval else Status.RESOLVING
            self._repository.record_findings(case, parsed, status, event)
        return FindingsRecorded(complaintId=complaint_id, remedy=parsed.remedy)

    # ------------------------------------------------------------ asking the complainant
    def put_question(self, complaint_id: str, question: str) -> QuestionPut:
        """The question the investigator (or the lead, or the head) asked through their link goes on the case
        as our message; the case waits for the complainant (AWAITING_CUSTOMER), its resolution target
        paused (SLA_PAUSED). Once: a retried step finds it asked and answers the same waits."""
        case, _ = self._repository.get(complaint_id)
        if case.status != Status.AWAITING_CUSTOMER:
            if case.status != Status.INVESTIGATING:
                raise ConflictError(f"{complaint_id} is {case.status}: only a case under investigation asks")
            link = (
                self._repository.get_link(case.investigation_link_id) if case.investigation_link_id else None
            )
            level = link.level if link is not None else "investigator"
            now = self._clock()
            message = Message(
                key=f"question-{now.timestamp():.6f}", at=now, channel="email", author="staff", text=question
            )
            event = CaseEvent(
                at=now, type="SLA_PAUSED", params={"level": messages(case.locale)["levels"][level]}
            )
            with _read_again_on_conflict():
                self._repository.ask_customer(
                    case, changes.asked_customer(question, level, now), event, message
                )
            case, _ = self._repository.get(complaint_id)
        asked_at = case.question_asked_at or self._clock()
        days = self._policy.customer_question
        answer_due = self._policy.add_business_days(asked_at, days.answer_business_days)
        reminder_due = self._policy.add_business_days(answer_due, days.reminder_business_days)
        return QuestionPut(
            complaintId=complaint_id,
            answerSeconds=self._wait_seconds(max((answer_due - asked_at).total_seconds(), 60.0)),
            reminderSeconds=self._wait_seconds(max((reminder_due - answer_due).total_seconds(), 60.0)),
        )

    def await_answer(self, complaint_id: str, token: str, reminder: bool) -> AnswerAwaited:
        """The task that waits for the complainant's answer: its token goes on the case (their next message
        answers it), and they get the question by email (or, as `reminder`, a reminder of it), with the
        case's reply address. An answer that came before the token was stored answers the wait at once."""
        case, _ = self._repository.get(complaint_id)
        if case.status != Status.AWAITING_CUSTOMER:
            raise ConflictError(f"{complaint_id} is {case.status}, not waiting for the complainant")
        if case.question_token != token:
            event = CaseEvent(at=self._clock(), type="QUESTION_REMINDED") if reminder else None
            with _read_again_on_conflict():
                self._repository.wait_for_answer(case, changes.waiting_on(token), event)
            case, _ = self._repository.get(complaint_id)
        # Stored, then read again: a message that came meanwhile either saw the token or is seen here.
        if _answered(case):
            self._succeed(token)
            return AnswerAwaited(complaintId=complaint_id, reminder=reminder, answered=True)
        if case.question_notified < (2 if reminder else 1):
            self._email_question(case, reminder)
        return AnswerAwaited(complaintId=complaint_id, reminder=reminder, answered=False)

    def resume(self, complaint_id: str) -> Resumed:
        """The complainant answered (or the waits ran out): the investigation goes on (SLA_RESUMED), its
        resolution target moved on by the time waited, the regulatory deadline where it was; the clocks
        for the wait it goes back to, at the level that asked. Once."""
        case, _ = self._repository.get(complaint_id)
        answered = _answered(case)
        if case.status == Status.AWAITING_CUSTOMER:
            now = self._clock()
            scale = self._settings.time_scale
            waited = changes.paused_seconds(case, now, scale)
            kind = "SLA_RESUMED" if answered else "SLA_RESUMED_NO_ANSWER"
            event = CaseEvent(at=now, type=kind, params={"waited": _duration(waited)})
            counted = stats.tally(now, self._timezone, complaint_id, stats.customer_waited(waited, answered))
            with _read_again_on_conflict():
                self._repository.resume_investigation(case, changes.resumed(case, now, scale), event, counted)
        clocks = self.clocks(complaint_id)
        level = case.question_level if case.question_level in LEVELS else "investigator"
        return Resumed(complaintId=complaint_id, level=level, answered=answered, **clocks.model_dump())  # type: ignore[arg-type]

    def _wait_seconds(self, policy_seconds: float) -> int:
        """A wait of the state machine: whole real seconds (the policy time over the time scale), never 0."""
        return max(MIN_WAIT_SECONDS, round(real_seconds(policy_seconds, self._settings.time_scale)))

    def _succeed(self, token: str) -> None:
        try:
            self._callbacks.succeed(token, CustomerAnswered().model_dump())
        except TaskGone:
            pass  # answered already (the complainant's message did it)
        except CallbackFailed as error:
            raise TransientError(f"answering the wait: {error}") from error

    def _email_question(self, case: Case, reminder: bool) -> None:
        """The question (or its reminder) to the complainant, in their language, replying to the case."""
        text = messages(case.locale)
        name = plain_name(case.customer.name)
        words = text["question"]
        days = self._policy.customer_question
        asked_at = case.question_asked_at or self._clock()
        answer_by = self._policy.add_business_days(asked_at, days.answer_business_days)
        if reminder:
            answer_by = self._policy.add_business_days(answer_by, days.reminder_business_days)
        zone = self._policy.calendar.timezone
        mail_id = self._mailer.send(
            compose(
                "question_email",
                to=[case.customer.email],
                reply_to=reply_address(self._settings.sender_email, case.complaint_id, self._key),
                subject=(words["reminder_subject"] if reminder else words["subject"]).format(
                    complaint_id=case.complaint_id
                ),
                t=text,
                lang=case.locale,
                greeting=text["ack"]["greeting"].format(name=name)
                if name
                else text["ack"]["greeting_anonymous"],
                complaint_id=case.complaint_id,
                question=case.question or "",
                reminder=reminder,
                answer_by=local_time(answer_by, zone, "%Y-%m-%d"),
                due=local_time(case.response_due_at, zone, "%Y-%m-%d"),
            )
        )

        def record() -> None:
            if self._conversation is not None:
                self._conversation.remember_sent_mail(mail_id, case.complaint_id)
            latest, _ = self._repository.get(case.complaint_id)
            with _read_again_on_conflict():
                self._repository.wait_for_answer(
                    latest, changes.question_notified(2 if reminder else 1), None
                )

        recorded_after_sending(record)

    # ------------------------------------------------------------ helpers
    def _holder(self, case: Case, level: str) -> Person:
        team = self._roster[case.department or "customer-service"]
        if level == "lead":
            return team.lead
        if level == "head":
            return team.head
        chosen = next((p for p in team.investigators if p.id == case.assignee), None)
        if chosen is None:
            raise CaseNotFound(f"{case.complaint_id} has no investigator on the roster")
        return chosen

    def _notified(self, link: TaskLink) -> None:
        """Record that the link's email went out; a failure here is retried here, not by sending it again."""
        recorded_after_sending(lambda: self._repository.mark_notified(link.link_id, self._clock()))

    def _notify(self, link: TaskLink, case: Case, reminder: bool) -> None:
        """Email the investigator (or lead, or head) the link, and record that it went."""
        url = link_url(self._settings.links_base(case.public_base_url), self._key, link)
        self._mailer.send(
            compose(
                "investigation_email",
                to=[link.recipient_email],
                subject=("Reminder: " if reminder else "")
                + f"Complaint {case.complaint_id} ({case.priority}, {case.category}) needs your findings",
                name=link.recipient_name,
                complaint_id=case.complaint_id,
                priority=case.priority,
                category=case.category,
                level=link.level,
                due=case.resolution_due_at,
                url=url,
                reminder=reminder,
                returned=case.rejection_comment,
            )
        )
        self._notified(link)


def _answered(case: Case) -> bool:
    """Whether the complainant has written since the question (the question is the last message we add)."""
    return (
        case.question_asked_at is not None
        and case.last_message_at is not None
        and case.last_message_at > case.question_asked_at
    )


def _duration(policy_seconds: float) -> str:
    """A wait as people read it: 3d 4h, 5h 20m, 12m."""
    minutes = round(policy_seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


@contextmanager
def _read_again_on_conflict() -> Iterator[None]:
    """A version-checked write of the case met another write of it (a message does not count: it makes no
    new version): the step (or the record after an email) runs again from a fresh read (TransientError)."""
    try:
        yield
    except ConflictError as error:
        raise TransientError("the case changed meanwhile; read again") from error
