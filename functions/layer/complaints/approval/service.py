"""Approval of costly remedies: the first level the thresholds require is asked by email link; a wait
that runs out goes to the next level up; the decision sends the case on to the remedy or back to the
investigator."""

from __future__ import annotations

from typing import Any

from complaints.approval.contracts import ApprovalAsked, ApprovalPlan, DecisionRecorded
from complaints.approval.ports import ApprovalRepository
from complaints.core import stats
from complaints.core.calendar import MIN_WAIT_SECONDS, real_seconds
from complaints.core.clock import Clock, utc_now
from complaints.core.models import Case, CaseEvent, Status
from complaints.core.ports import Callbacks, Mailer
from complaints.core.retry import recorded_after_sending
from complaints.core.rules import Person, TriagePolicy
from complaints.core.settings import Settings
from complaints.core.tasks import Decision, Findings, LinkStatus, TaskLink
from complaints.presentation.email import compose
from complaints.presentation.i18n import messages
from complaints.tasklinks.links import hand_on, link_url, open_link


class ApprovalService:
    def __init__(
        self,
        repository: ApprovalRepository,
        mailer: Mailer,
        triage_policy: TriagePolicy,
        settings: Settings,
        signing_key: bytes,
        callbacks: Callbacks,
        clock: Clock = utc_now,
        timezone: str = "UTC",
    ):
        self._repository = repository
        self._mailer = mailer
        self._roster = triage_policy.roster
        self._approval = triage_policy.approval
        self._settings = settings
        self._key = signing_key
        self._callbacks = callbacks
        self._clock = clock
        self._timezone = timezone  # the day report counters are counted on

    def plan_approval(self, complaint_id: str) -> ApprovalPlan:
        """Who approves the proposed remedy first (thresholds in config), or "none"."""
        case, _ = self._repository.get(complaint_id)
        findings = Findings.model_validate(case.findings or {})
        level = self._approval.required_level(findings.remedy, findings.amount)
        return ApprovalPlan(level=level or "none", timeoutSeconds=self._approval_wait())

    def next_approver(self, complaint_id: str, level: str) -> ApprovalPlan:
        """The next level up after `level` timed out, or "none" after the last."""
        return ApprovalPlan(
            level=self._approval.next_level(level) or "none", timeoutSeconds=self._approval_wait()
        )

    def ask_approval(
        self, complaint_id: str, level: str, token: str, timeout_seconds: float
    ) -> ApprovalAsked:
        """Email the approver at `level` a link to decide; an earlier approver's link answers 410."""
        case, _ = self._repository.get(complaint_id)
        team = self._roster[case.department or "customer-service"]
        person = team.approvers[level]
        now = self._clock()
        previous = self._repository.get_link(case.approval_link_id) if case.approval_link_id else None
        if hand_on(self._repository, self._callbacks, previous, token, now):
            return ApprovalAsked(complaintId=complaint_id, level=level)
        if previous is not None and previous.token == token and previous.status == LinkStatus.OPEN:
            if previous.notified_at is None:  # the same wait asked again, its email not out yet
                self._ask_approver(case, previous, person)
            return ApprovalAsked(complaintId=complaint_id, level=level)
        link = open_link(complaint_id, "approve", level, person, token, now, timeout_seconds)
        escalated = previous is not None and previous.status == LinkStatus.OPEN
        text = messages(case.locale)
        event = CaseEvent(
            at=now,
            type="APPROVAL_ESCALATED" if escalated else "APPROVAL_REQUESTED",
            params={"assignee": person.name, "level": text["levels"][level]},
        )
        counted = stats.tally(now, self._timezone, complaint_id, stats.escalated("approval", level))
        self._repository.put_link(
            link, case.approval_link_id if escalated else None, event, counted if escalated else None
        )
        self._ask_approver(case, link, person)
        return ApprovalAsked(complaintId=complaint_id, level=level)

    def _ask_approver(self, case: Case, link: TaskLink, person: Person) -> None:
        findings = Findings.model_validate(case.findings or {})
        self._mailer.send(
            compose(
                "approval_email",
                to=[person.email],
                subject=f"Approve a {findings.remedy} for complaint {case.complaint_id}?",
                name=person.name,
                complaint_id=case.complaint_id,
                findings=findings,
                level=link.level,
                url=link_url(self._settings.links_base(case.public_base_url), self._key, link),
            )
        )
        self._notified(link)

    def record_decision(self, complaint_id: str, decision: dict[str, Any]) -> DecisionRecorded:
        """Approve: on to the remedy. Reject: back to the investigator, with the comment."""
        case, _ = self._repository.get(complaint_id)
        parsed = Decision.model_validate(decision)
        link = self._repository.get_link(case.approval_link_id) if case.approval_link_id else None
        approver = link.recipient_name if link else "-"
        now = self._clock()
        if case.status == Status.AWAITING_APPROVAL:  # not decided already (by this task, retried)
            if parsed.decision == "approve":
                self._repository.approve(
                    case, CaseEvent(at=now, type="APPROVED", params={"assignee": approver})
                )
            else:
                event = CaseEvent(at=now, type="REJECTED", params={"assignee": approver})
                self._repository.reject(case, parsed.comment or "", event)
        return DecisionRecorded(complaintId=complaint_id, decision=parsed.decision)

    def _approval_wait(self) -> int:
        seconds = real_seconds(self._approval.timeout_hours * 3600, self._settings.time_scale)
        return max(MIN_WAIT_SECONDS, round(seconds))

    def _notified(self, link: TaskLink) -> None:
        """Record that the link's email went out; a failure here is retried here, not by sending it again."""
        recorded_after_sending(lambda: self._repository.mark_notified(link.link_id, self._clock()))
