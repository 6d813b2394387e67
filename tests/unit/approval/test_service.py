"""ApprovalService on the in-memory fakes: the first approver the thresholds require, escalation to the
next level, and the decision that sends the case on to the remedy or back to the investigator."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complaints.core.errors import AnswerKept, LinkGone, TransientError
from complaints.core.models import Status
from complaints.core.tasks import LinkStatus
from tests.unit.assigned import EXPLANATION, REFUND_150, awaiting_approval, investigating, link_of

# ------------------------------------------------------------------ approval


@pytest.mark.parametrize(
    ("remedy", "amount", "level"),
    [
        ("refund", "100.00", "none"),
        ("refund", "100.01", "supervisor"),
        ("partial_refund", "1000.00", "supervisor"),
        ("resettle", "1000.01", "manager"),
        ("refund", "10000.01", "director"),
        ("compensation", "1.00", "supervisor"),
        ("compensation", "5000.00", "manager"),
        ("explanation", None, "none"),
        ("account_fix", None, "none"),
    ],
)
def test_the_first_approver_is_set_by_the_packaged_thresholds(
    service, repository, settings, complaint_id, remedy, amount, level, approval
):
    findings = {**EXPLANATION, "remedy": remedy}
    if amount is not None:
        findings |= {"amount": amount, "currency": "CNY"}
    investigating(repository, complaint_id)
    service.record_findings(complaint_id, findings)

    planned = approval.plan_approval(complaint_id)

    assert planned.model_dump() == {"level": level, "timeoutSeconds": round(24 * 3600 / settings.time_scale)}


def test_each_approver_who_does_not_decide_hands_over_to_the_next_level_up(service, complaint_id, approval):
    assert approval.next_approver(complaint_id, "supervisor").level == "manager"
    assert approval.next_approver(complaint_id, "manager").level == "director"
    assert approval.next_approver(complaint_id, "director").level == "none"


def test_the_departments_approver_is_emailed_a_link_to_decide(
    service, repository, mailer, complaint_id, approval, pages
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)

    approval.ask_approval(complaint_id, "supervisor", "approve-token", 3600)

    (email,) = mailer.sent
    assert email.to == ["fin-supervisor@example.com"]
    assert "refund" in email.subject and complaint_id in email.subject
    assert "approve-token" not in email.text and "approve-token" not in email.html
    link_id, sig = link_of(email)
    assert repository.cases[complaint_id].approval_link_id == link_id
    link = repository.links[link_id]
    assert (link.kind, link.level, link.recipient_name) == ("approve", "supervisor", "Xie Na")
    assert pages.open_page(link_id, sig).case.findings["remedy"] == "refund"
    assert repository.event_types(complaint_id)[-1] == "APPROVAL_REQUESTED"


def test_a_decision_that_came_as_the_approval_wait_ran_out_is_taken_by_the_next_level(
    service, repository, mailer, callbacks, complaint_id, approval, pages
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)
    link_id, sig = link_of(mailer.sent[-1])
    callbacks.forget("t-1")

    with pytest.raises(AnswerKept):
        pages.submit(link_id, sig, {"decision": "approve"})
    emails = len(mailer.sent)
    approval.ask_approval(complaint_id, "manager", "t-2", 3600)

    assert callbacks.succeeded == [("t-2", {"decision": {"decision": "approve", "comment": ""}})]
    assert len(mailer.sent) == emails  # the manager is not asked: the supervisor's decision stands
    assert repository.event_types(complaint_id)[-1] == "ANSWER_HANDED_ON"


def test_the_same_approval_wait_asked_twice_sends_one_email(
    service, repository, mailer, complaint_id, approval
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)

    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)

    assert len(mailer.sent) == 1
    assert repository.event_types(complaint_id).count("APPROVAL_REQUESTED") == 1
    assert "APPROVAL_ESCALATED" not in repository.event_types(complaint_id)


def test_an_approval_email_that_failed_goes_out_when_the_wait_is_asked_again(
    service, repository, mailer, complaint_id, approval
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    mailer.throttle_next = 1
    with pytest.raises(TransientError):
        approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)

    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)

    assert len(mailer.sent) == 1
    assert repository.event_types(complaint_id).count("APPROVAL_REQUESTED") == 1


def test_an_approval_escalation_supersedes_the_first_approvers_link(
    service, repository, mailer, callbacks, complaint_id, approval, pages
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)
    first = link_of(mailer.sent[-1])

    approval.ask_approval(complaint_id, "manager", "t-2", 3600)

    second = link_of(mailer.sent[-1])
    assert mailer.sent[-1].to == ["fin-manager@example.com"]
    old = repository.links[first[0]]
    assert (old.status, old.held_by) == (LinkStatus.SUPERSEDED, "Song Wei")
    with pytest.raises(LinkGone):
        pages.submit(*first, {"decision": "approve"})
    pages.submit(*second, {"decision": "approve"})
    assert callbacks.succeeded == [("t-2", {"decision": {"decision": "approve", "comment": ""}})]
    assert repository.event_types(complaint_id)[-1] == "APPROVAL_ESCALATED"


def test_a_rejection_without_a_comment_is_refused_and_the_approval_link_stays_open(
    service, repository, mailer, callbacks, complaint_id, approval, pages
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)
    link_id, sig = link_of(mailer.sent[-1])

    with pytest.raises(ValidationError):
        pages.submit(link_id, sig, {"decision": "reject"})

    assert repository.links[link_id].status == LinkStatus.OPEN
    assert callbacks.succeeded == []


def test_an_approval_sends_the_case_on_to_the_remedy(service, repository, mailer, complaint_id, approval):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)

    result = approval.record_decision(complaint_id, {"decision": "approve"})

    assert result.model_dump() == {"complaintId": complaint_id, "decision": "approve"}
    case, events = repository.get(complaint_id)
    assert case.status == Status.RESOLVING
    assert case.findings["remedy"] == "refund"
    assert (events[-1].type, events[-1].params["assignee"]) == ("APPROVED", "Xie Na")


def test_a_rejection_returns_the_case_to_the_investigator_with_the_comment(
    service, repository, mailer, complaint_id, approval
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.ask_approval(complaint_id, "supervisor", "t-1", 3600)

    approval.record_decision(complaint_id, {"decision": "reject", "comment": "Only 50 was lost."})

    case = repository.cases[complaint_id]
    assert case.status == Status.INVESTIGATING
    assert case.findings is None
    assert case.rejection_comment == "Only 50 was lost."
    assert repository.event_types(complaint_id)[-1] == "REJECTED"
    # Asked again, the investigator reads why, and new findings are recorded.
    service.ask(complaint_id, "investigator", "t-again", 3600)
    assert "Only 50 was lost." in mailer.sent[-1].text
    service.record_findings(complaint_id, {**REFUND_150, "amount": "50.00"})
    assert repository.cases[complaint_id].findings["amount"] == "50.00"
    assert repository.cases[complaint_id].status == Status.RESOLVING


def test_a_decision_for_a_case_no_longer_awaiting_approval_changes_nothing(
    service, repository, complaint_id, approval
):
    awaiting_approval(service, repository, complaint_id, REFUND_150)
    approval.record_decision(complaint_id, {"decision": "approve"})
    version = repository.cases[complaint_id].version

    approval.record_decision(complaint_id, {"decision": "reject", "comment": "Too late."})

    case = repository.cases[complaint_id]
    assert (case.status, case.version, case.rejection_comment) == (Status.RESOLVING, version, None)
    assert case.findings is not None
