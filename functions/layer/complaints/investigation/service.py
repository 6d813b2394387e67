"""Investigation: automatic evidence first, then the assigned person's findings, by email link,
with a reminder at 75% of the SLA and escalation to the department lead, then its head."""

from __future__ import annotations

from typing import Any

from complaints.core import stats
from complaints.core.calendar import MIN_WAIT_SECONDS, real_seconds
from complaints.core.clock import Clock, utc_now
from complaints.core.errors import CaseNotFound
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.ports import Callbacks, Mailer
from complaints.core.retry import recorded_after_sending
from complaints.core.rules import Person, TriagePolicy
from complaints.core.settings import Settings
from complaints.core.tasks import Findings, LinkStatus, TaskLink
from complaints.investigation.contracts import Asked, Clocks, FindingsRecorded, Gathered
from complaints.investigation.evidence import gather
from complaints.investigation.ports import EvidenceSource, InvestigationRepository
from complaints.presentation.email import compose
from complaints.presentation.i18n import messages
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
    ):
        self._repository = repository
        self._sources = sources
        self._timezone = timezone  # the day report counters are counted on
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
        scale = self._settings.time_scale

        def real(policy_seconds: float) -> int:
            return max(MIN_WAIT_SECONDS, round(real_seconds(policy_seconds, scale)))

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
