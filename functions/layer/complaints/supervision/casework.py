"""Supervision: a step that failed for good sets its case NEEDS_ATTENTION with the reason and alerts ops;
ops send such a case on again from the stage it failed in."""

from __future__ import annotations

from dataclasses import dataclass

from complaints.core import stats
from complaints.core.calendar import Policy
from complaints.core.clock import Clock, utc_now
from complaints.core.errors import ConflictError, MailRejected, NotRetryable, WorkflowStartFailed
from complaints.core.models import CaseEvent, Status
from complaints.core.ports import Mailer, Workflow
from complaints.core.settings import Settings
from complaints.presentation.email import compose
from complaints.supervision.ports import SupervisionRepository

MAX_REASON = 500


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
        repository: SupervisionRepository,
        mailer: Mailer,
        policy: Policy,
        settings: Settings,
        clock: Clock = utc_now,
    ):
        self._repository = repository
        self._mailer = mailer
        self._policy = policy
        self._settings = settings
        self._clock = clock

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
