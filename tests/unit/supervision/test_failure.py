"""Recording a failure on the fakes: the case NEEDS_ATTENTION with the reason, once, and ops alerted."""

from __future__ import annotations

import pytest

from complaints.core.errors import ConflictError
from complaints.core.models import ComplaintIn, Status
from complaints.intake.service import IntakeService
from complaints.supervision.casework import Casework
from tests.fakes import FakeMailer, FakeRepository, FakeWorkflow, make_settings

CUSTOMER = "alice@example.com"


def submit(intake: IntakeService, name: str | None = "Alice", locale: str | None = None, email=CUSTOMER):
    customer = {"email": email} | ({"name": name} if name else {}) | ({"locale": locale} if locale else {})
    document = {"customer": customer, "description": "Charged twice.", "channel": "web"}
    return intake.submit(ComplaintIn.model_validate(document)).accepted


# ------------------------------------------------------------------ failures

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:complaints-test-complaint-case:x"


def fail(casework: Casework, complaint_id: str, cause: str = "SES MessageRejected"):
    return casework.record_failure(complaint_id, "Send acknowledgement", "MailRejected", cause, EXECUTION)


def test_a_failure_sets_needs_attention_with_the_reason(intake, casework, repository):
    accepted = submit(intake)

    record = fail(casework, accepted.complaintId)

    assert record.reason == "MailRejected in 'Send acknowledgement'"
    case, events = repository.get(accepted.complaintId)
    assert case.status == Status.NEEDS_ATTENTION
    assert case.attention_reason == "MailRejected in 'Send acknowledgement'"
    assert events[-1].type == "NEEDS_ATTENTION"
    assert events[-1].params == {"reason": "MailRejected"}


def test_the_complainant_sees_the_case_is_with_the_team(intake, casework):
    accepted = submit(intake, locale="zh-CN")
    fail(casework, accepted.complaintId)

    view = intake.status(accepted.complaintId, accepted.accessCode)

    assert view.status == Status.NEEDS_ATTENTION
    assert view.timeline[-1].detail == "工作人员正在复核此案件（MailRejected）。"


def test_a_failure_alerts_ops_by_email(intake, casework, mailer):
    accepted = submit(intake)

    record = fail(casework, accepted.complaintId, cause="x" * 2000)

    assert record.alerted
    assert len(mailer.sent) == 1
    alert = mailer.sent[0]
    assert alert.to == ["ops@example.com"]
    assert accepted.complaintId in alert.subject
    for expected in ("Send acknowledgement", "MailRejected", EXECUTION):
        assert expected in alert.text
    assert "x" * 500 in alert.text
    assert "x" * 501 not in alert.text  # the cause is cut to 500 characters
    assert CUSTOMER not in alert.text + alert.html


def test_a_refused_ops_alert_does_not_hide_needs_attention(intake, casework, mailer, repository):
    accepted = submit(intake)
    mailer.reject_to = {"ops@example.com"}

    record = fail(casework, accepted.complaintId)

    assert not record.alerted
    assert record.reason == "MailRejected in 'Send acknowledgement'"
    case, _ = repository.get(accepted.complaintId)
    assert case.status == Status.NEEDS_ATTENTION
    assert mailer.sent == []


def test_a_retried_failure_is_recorded_once(intake, casework, repository):
    accepted = submit(intake)

    fail(casework, accepted.complaintId)
    fail(casework, accepted.complaintId)

    assert repository.event_types(accepted.complaintId).count("NEEDS_ATTENTION") == 1


class RacingRepository(FakeRepository):
    """Another writer changes the case between each of the first `races` reads and writes."""

    def __init__(self, races: int):
        super().__init__()
        self.races = races

    def mark_needs_attention(self, case, reason, event, stats=None):
        if self.races:
            self.races -= 1
            stored = self.cases[case.complaint_id]
            self.cases[case.complaint_id] = stored.model_copy(update={"version": stored.version + 1})
        return super().mark_needs_attention(case, reason, event, stats)


def test_a_failure_is_recorded_although_the_case_changed_meanwhile(workflow, mailer, policy, clock):
    repository = RacingRepository(races=2)
    settings = make_settings()
    intake = IntakeService(repository, workflow, policy, settings, clock=clock)
    casework = Casework(repository, mailer, policy, settings, clock=clock)
    accepted = submit(intake)

    record = fail(casework, accepted.complaintId)

    assert record.alerted
    assert repository.get(accepted.complaintId)[0].status == Status.NEEDS_ATTENTION
    assert repository.event_types(accepted.complaintId).count("NEEDS_ATTENTION") == 1


def test_a_case_that_keeps_changing_raises_conflict_for_step_functions_to_retry(policy, clock):
    repository = RacingRepository(races=10)
    mailer = FakeMailer()
    settings = make_settings()
    intake = IntakeService(repository, FakeWorkflow(), policy, settings, clock=clock)
    casework = Casework(repository, mailer, policy, settings, clock=clock)
    accepted = submit(intake)

    with pytest.raises(ConflictError):
        fail(casework, accepted.complaintId)
    assert repository.get(accepted.complaintId)[0].status == Status.RECEIVED
    assert mailer.sent == []
