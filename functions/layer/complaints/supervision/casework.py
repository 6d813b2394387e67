"""Workflow steps run by Step Functions tasks: the acknowledgement, and recording a failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from complaints.core import ids, stats
from complaints.core.calendar import Policy
from complaints.core.clock import Clock, utc_now
from complaints.core.errors import ConflictError, MailRejected, NotRetryable, WorkflowStartFailed
from complaints.core.models import CaseEvent, Status
from complaints.core.ports import Mailer, Workflow
from complaints.core.retry import recorded_after_sending
from complaints.core.settings import Settings
from complaints.intake.ports import CaseRepository
from complaints.presentation.email import compose, plain_name
from complaints.presentation.i18n import messages
from complaints.presentation.links import status_url
from complaints.presentation.render import local_time

MAX_REASON = 500


@dataclass
class Acknowledgement:
    complaintId: str
    acknowledgedAt: str
    sent: bool
    withheld: bool = False  # not sent: the address had its hour's acknowledgements


@dataclass
class Retried:
    complaintId: str
    resumedAt: str
    executionArn: str


@dataclass
class FailureRecord:
    reason: str
    alerted: bool


class Casework:
    def __init__(
        self,
        repository: CaseRepository,
        mailer: Mailer,
        policy: Policy,
        settings: Settings,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._repository = repository
        self._mailer = mailer
        self._policy = policy
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

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
            message_key=f"ack.{complaint_id}",
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
        self._mailer.send(email)
        now = self._clock()
        recorded_after_sending(
            lambda: self._repository.mark_acknowledged(complaint_id, CaseEvent(at=now, type="ACKNOWLEDGED")),
            sleep=self._sleep,
        )
        return Acknowledgement(complaint_id, now.isoformat(), sent=True)

    def retry(self, complaint_id: str, workflow: Workflow) -> Retried:
        """Send a NEEDS_ATTENTION case on again from the start of the stage it failed in, in a new
        execution. Safe: only a case still NEEDS_ATTENTION whose execution has ended, and the
        version-checked resume lets one of two concurrent retries through. Raises CaseNotFound,
        NotRetryable or ConflictError."""
        case, _ = self._repository.get(complaint_id)
        if case.status != Status.NEEDS_ATTENTION:
            raise NotRetryable(f"case {complaint_id} is {case.status.value}, not NEEDS_ATTENTION")
        if case.execution_arn and workflow.running(case.execution_arn):
            raise NotRetryable(f"the execution of case {complaint_id} is still running")
        resumed_at = (case.attention_from or Status.RECEIVED).value
        event = CaseEvent(at=self._clock(), type="RETRIED", params={"stage": resumed_at})
        resumed = self._repository.resume(case, event)
        try:
            arn = workflow.resume(complaint_id, resumed.retries, resumed_at)
        except WorkflowStartFailed as error:
            # Back on the watch list, with the reason: a case never waits unseen.
            failed = CaseEvent(
                at=self._clock(), type="NEEDS_ATTENTION", params={"reason": "WorkflowStartFailed"}
            )
            self._repository.mark_needs_attention(resumed, f"{error} in 'retry'", failed)
            raise
        self._repository.set_execution(complaint_id, arn)
        return Retried(complaint_id, resumed_at, arn)

    def record_failure(
        self, complaint_id: str, state: str, error: str, cause: str, execution: str
    ) -> FailureRecord:
        """Set the case NEEDS_ATTENTION with the reason, add it to the timeline and alert ops."""
        reason = f"{error} in '{state}'"
        for _attempt in range(3):
            case, _ = self._repository.get(complaint_id)
            if case.status == Status.NEEDS_ATTENTION and case.attention_reason == reason:
                break
            now = self._clock()
            try:
                self._repository.mark_needs_attention(
                    case,
                    reason,
                    CaseEvent(at=now, type="NEEDS_ATTENTION", params={"reason": error}),
                    None
                    if case.status == Status.NEEDS_ATTENTION
                    else stats.tally(
                        now, self._policy.calendar.timezone, complaint_id, stats.needs_attention()
                    ),
                )
                break
            except ConflictError:
                continue
        else:
            raise ConflictError(f"case {complaint_id} kept changing while recording a failure")
        alert = compose(
            "ops_alert",
            to=[self._settings.ops_email],
            subject=f"[complaints] Case {complaint_id} needs attention",
            complaint_id=complaint_id,
            state=state,
            error=error,
            cause=cause[:MAX_REASON],
            execution=execution,
        )
        try:
            self._mailer.send(alert)
        except MailRejected:
            # The case already shows NEEDS_ATTENTION; a refused alert must not hide that. The caller
            # counts it (metric OpsAlertFailed) so an alarm catches a broken alert channel.
            return FailureRecord(reason, alerted=False)
        return FailureRecord(reason, alerted=True)
