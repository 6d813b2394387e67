"""InvestigationService on the in-memory fakes: evidence gathered and chained once, the waits of the
investigation clock, findings asked for by email link (reminder, escalation), the link pages answered
exactly once, and the approval of costly remedies."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from complaints.approval.service import ApprovalService
from complaints.classification.classifier import RuleClassifier
from complaints.classification.taxonomy import load_taxonomy
from complaints.core.errors import AnswerKept, LinkDecided, LinkForged, LinkGone, TransientError
from complaints.core.models import Case, ComplaintIn, Status
from complaints.core.tasks import Findings, LinkStatus
from complaints.investigation.service import InvestigationService
from complaints.tasklinks.pages import TaskPages
from complaints.triage.service import TriageService
from tests.fakes import FakeCallbacks, FakeInvestigationRepository, make_settings

KEY = b"unit-test-signing-key"
TOKEN = "task-token-SECRET-1"
START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # the FakeClock's start
REFUND_150 = {
    "summary": "The bank returned the withdrawal.",
    "remedy": "refund",
    "amount": "150.00",
    "currency": "CNY",
    "customerMessage": "We refund the 150 CNY.",
}
EXPLANATION = {
    "summary": "The withdrawal is on its way.",
    "remedy": "explanation",
    "customerMessage": "Your bank takes three days.",
}


class Source:
    """An evidence source holding fixed (reference, data) pairs; counts how often it is asked."""

    def __init__(self, name: str, found: list[tuple[str, dict[str, Any]]]):
        self.name = name
        self._found = found
        self.asked = 0

    def fetch(self, case: Case) -> list[tuple[str, dict[str, Any]]]:
        self.asked += 1
        return list(self._found)


@pytest.fixture
def repository() -> FakeInvestigationRepository:
    return FakeInvestigationRepository()


@pytest.fixture
def settings():
    return make_settings(time_scale=60.0)


@pytest.fixture
def callbacks() -> FakeCallbacks:
    return FakeCallbacks()


@pytest.fixture
def sources() -> list[Source]:
    return [
        Source("records", [("transactionId:TX-1", {"status": "PENDING_AT_BANK"})]),
        Source("earlier-complaints", [("CMP-1", {"status": "CLOSED"}), ("CMP-2", {"status": "CLOSED"})]),
    ]


@pytest.fixture
def service(repository, sources, mailer, triage_policy, settings, callbacks, clock) -> InvestigationService:
    return InvestigationService(
        repository, sources, mailer, triage_policy, settings, KEY, callbacks, clock=clock
    )


@pytest.fixture
def approval(repository, mailer, triage_policy, settings, callbacks, clock) -> ApprovalService:
    return ApprovalService(repository, mailer, triage_policy, settings, KEY, callbacks, clock=clock)


@pytest.fixture
def pages(repository, callbacks, clock) -> TaskPages:
    return TaskPages(repository, KEY, callbacks, clock=clock)


@pytest.fixture
def complaint_id(intake, repository, policy, triage_policy, mailer, settings, clock) -> str:
    """A TRIAGED payments case of finance, assigned to Wang Fang (fin-wang)."""
    taxonomy = load_taxonomy()
    triage = TriageService(
        repository, RuleClassifier(taxonomy), taxonomy, policy, triage_policy, mailer, settings, clock=clock
    )
    document = {
        "customer": {"email": "alice@example.com"},
        "description": "My withdrawal of 150 has not arrived in my bank account.",
        "amount": {"value": "150.00", "currency": "CNY"},
    }
    submission = intake.submit(ComplaintIn.model_validate(document))
    complaint_id = submission.accepted.complaintId
    triage.triage(complaint_id)
    case, _ = repository.get(complaint_id)
    assert (case.status, case.department, case.assignee) == (Status.TRIAGED, "finance", "fin-wang")
    mailer.sent.clear()
    return complaint_id


def link_of(email) -> tuple[str, str]:
    """(link id, sig) of the one task link in an email."""
    (found,) = set(re.findall(r"https://api\.example/tasks/([\w-]+)\?sig=([0-9a-f]+)", email.text))
    return found


def investigating(repository, complaint_id: str) -> None:
    stored = repository.cases[complaint_id]
    repository.cases[complaint_id] = stored.model_copy(update={"status": Status.INVESTIGATING})


def awaiting_approval(service, repository, complaint_id: str, findings: dict) -> None:
    investigating(repository, complaint_id)
    service.record_findings(complaint_id, findings)
    assert repository.cases[complaint_id].status == Status.AWAITING_APPROVAL


# ------------------------------------------------------------------ evidence


def test_evidence_from_every_source_is_chained_in_order_and_the_case_is_investigating(
    service, repository, sources, complaint_id
):
    result = service.gather_evidence(complaint_id)

    assert result.model_dump() == {"complaintId": complaint_id, "items": 3}
    items = repository.evidence(complaint_id)
    assert [(i.seq, i.source, i.reference) for i in items] == [
        (0, "records", "transactionId:TX-1"),
        (1, "earlier-complaints", "CMP-1"),
        (2, "earlier-complaints", "CMP-2"),
    ]
    assert items[1].prev_hash == items[0].hash and items[2].prev_hash == items[1].hash
    assert repository.cases[complaint_id].status == Status.INVESTIGATING
    assert repository.event_types(complaint_id).count("EVIDENCE_GATHERED") == 1


def test_evidence_is_gathered_once_a_retry_asks_no_source_again(service, repository, sources, complaint_id):
    service.gather_evidence(complaint_id)
    version = repository.cases[complaint_id].version

    assert service.gather_evidence(complaint_id).model_dump() == {"complaintId": complaint_id, "items": 3}

    assert [source.asked for source in sources] == [1, 1]
    assert len(repository.evidence(complaint_id)) == 3
    assert repository.cases[complaint_id].version == version
    assert repository.event_types(complaint_id).count("EVIDENCE_GATHERED") == 1


def test_the_case_page_shows_the_evidence_and_that_its_chain_is_intact(
    service, repository, mailer, complaint_id, pages
):
    service.gather_evidence(complaint_id)
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])

    page = pages.open_page(link_id, sig)

    assert page.case.complaint_id == complaint_id
    assert len(page.evidence) == 3
    assert page.chain.intact
    assert repository.links[link_id].status == LinkStatus.OPEN  # GET decides nothing


# ------------------------------------------------------------------ clocks


def test_the_waits_are_75_and_25_percent_of_the_time_left_and_one_sla_window(
    service, repository, settings, clock, complaint_id
):
    clock.advance(3600)
    case = repository.cases[complaint_id]
    left = (case.resolution_due_at - clock()).total_seconds()
    window = (case.resolution_due_at - case.created_at).total_seconds()

    clocks = service.clocks(complaint_id)

    assert clocks.reminderSeconds == round(0.75 * left / settings.time_scale)
    assert clocks.finalSeconds == round(0.25 * left / settings.time_scale)
    assert clocks.escalationSeconds == round(window / settings.time_scale)
    assert clocks.reminderSeconds > clocks.finalSeconds > 0


def test_the_waits_are_at_least_one_second_at_a_huge_time_scale(
    repository, sources, mailer, triage_policy, callbacks, clock, complaint_id
):
    fast = InvestigationService(
        repository, sources, mailer, triage_policy, make_settings(time_scale=1e9), KEY, callbacks, clock
    )

    clocks = fast.clocks(complaint_id)

    assert (clocks.reminderSeconds, clocks.finalSeconds, clocks.escalationSeconds) == (1, 1, 1)


# ------------------------------------------------------------------ asking for findings


def test_the_assigned_investigator_is_emailed_a_link_that_does_not_carry_the_task_token(
    service, repository, mailer, complaint_id, pages
):
    result = service.ask(complaint_id, "investigator", TOKEN, 3600)

    assert result.model_dump() == {
        "complaintId": complaint_id,
        "level": "investigator",
        "reminder": False,
        "slaMissed": False,
    }
    (email,) = mailer.sent
    assert email.to == ["fin-wang@example.com"]
    assert complaint_id in email.subject and not email.subject.startswith("Reminder")
    link_id, sig = link_of(email)
    assert TOKEN not in email.text and TOKEN not in email.html
    case = repository.cases[complaint_id]
    assert case.investigation_link_id == link_id
    link = repository.links[link_id]
    assert (link.recipient_name, link.level, link.token, link.status) == (
        "Wang Fang",
        "investigator",
        TOKEN,
        LinkStatus.OPEN,
    )
    assert pages.open_page(link_id, sig).link.link_id == link_id
    assert repository.event_types(complaint_id)[-1] == "INVESTIGATION_ASSIGNED"


def test_the_same_wait_asked_twice_sends_one_email_and_opens_one_link(
    service, repository, mailer, complaint_id
):
    """Step Functions may deliver a task's invocation again: the same token asks nothing twice."""
    first = service.ask(complaint_id, "investigator", TOKEN, 3600)
    again = service.ask(complaint_id, "investigator", TOKEN, 3600)

    assert len(mailer.sent) == 1
    assert len(repository.links) == 1
    assert again == first
    assert "REMINDER_SENT" not in repository.event_types(complaint_id)


def test_an_email_that_failed_after_its_link_was_stored_goes_out_when_the_wait_is_asked_again(
    service, repository, mailer, complaint_id
):
    """SES throttled the investigator's email after the link was stored; the step is retried with the same
    token (moto keeps one per Task state): the email goes out then, once. It used to be taken for sent."""
    mailer.throttle_next = 1
    with pytest.raises(TransientError):
        service.ask(complaint_id, "investigator", TOKEN, 3600)
    assert mailer.sent == [] and repository.links[next(iter(repository.links))].notified_at is None

    service.ask(complaint_id, "investigator", TOKEN, 3600)
    service.ask(complaint_id, "investigator", TOKEN, 3600)  # delivered once more: nothing more

    (email,) = mailer.sent
    assert "Reminder" not in email.subject
    assert len(repository.links) == 1
    assert repository.event_types(complaint_id).count("INVESTIGATION_ASSIGNED") == 1
    # Were it sent twice (its record lost for good), it would be the same message: one Message-ID.
    assert email.message_key == f"link.{next(iter(repository.links))}"


def test_a_reminder_that_failed_to_send_goes_out_as_a_reminder_when_asked_again(
    service, repository, mailer, clock, complaint_id
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    clock.advance(3000)
    mailer.throttle_next = 1
    with pytest.raises(TransientError):
        service.ask(complaint_id, "investigator", "token-2", 3600)

    service.ask(complaint_id, "investigator", "token-2", 3600)

    assert [email.subject.startswith("Reminder") for email in mailer.sent] == [False, True]
    link_id = next(iter(repository.links))
    assert [email.message_key for email in mailer.sent] == [f"link.{link_id}", f"link.{link_id}.reminder"]


def test_a_reminder_keeps_the_first_link_working_and_binds_it_to_the_new_wait(
    service, repository, mailer, clock, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    first_link = link_of(mailer.sent[-1])
    clock.advance(3000)

    result = service.ask(complaint_id, "investigator", "token-2", 3600)

    assert result.reminder is True
    reminder = mailer.sent[-1]
    assert reminder.subject.startswith("Reminder")
    assert reminder.to == ["fin-wang@example.com"]
    assert link_of(reminder) == first_link
    link = repository.links[first_link[0]]
    assert link.token == "token-2"
    clock.advance(3000)  # past the first wait, within the second
    pages.submit(*first_link, REFUND_150)
    assert [token for token, _ in callbacks.succeeded] == ["token-2"]
    assert repository.event_types(complaint_id).count("REMINDER_SENT") == 1


def test_an_escalation_sends_a_new_link_to_the_lead_and_the_old_one_says_who_holds_it(
    service, repository, mailer, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    old_link = link_of(mailer.sent[-1])

    service.ask(complaint_id, "lead", "token-lead", 3600)

    email = mailer.sent[-1]
    assert email.to == ["fin-lead@example.com"]
    new_link = link_of(email)
    assert new_link != old_link
    assert repository.cases[complaint_id].investigation_link_id == new_link[0]
    old = repository.links[old_link[0]]
    assert (old.status, old.held_by) == (LinkStatus.SUPERSEDED, "Wu Jing")
    with pytest.raises(LinkGone) as refused:
        pages.open_page(*old_link)
    assert refused.value.link.held_by == "Wu Jing"
    assert pages.open_page(*new_link).link.recipient_name == "Wu Jing"
    assert repository.event_types(complaint_id)[-1] == "ESCALATED"


def test_the_lead_taking_over_after_the_investigators_wait_ran_out_is_a_missed_sla(
    service, mailer, clock, complaint_id
):
    assert service.ask(complaint_id, "investigator", TOKEN, 3600).slaMissed is False
    clock.advance(2700)
    assert service.ask(complaint_id, "investigator", "token-2", 900).slaMissed is False  # the reminder
    clock.advance(901)

    result = service.ask(complaint_id, "lead", "token-lead", 3600)

    assert result.slaMissed is True
    # The head taking over later is the same breach, not another one.
    clock.advance(3601)
    assert service.ask(complaint_id, "head", "token-head", 3600).slaMissed is False


def test_a_late_click_that_found_the_wait_over_still_counts_the_missed_sla(
    service, mailer, callbacks, clock, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    callbacks.forget(TOKEN)  # the wait timed out while the investigator had the page open
    with pytest.raises(AnswerKept):
        pages.submit(link_id, sig, REFUND_150)

    assert service.ask(complaint_id, "lead", "token-lead", 3600).slaMissed is True


def test_the_lead_taking_a_case_the_customer_reopened_is_no_missed_sla(
    service, repository, mailer, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    pages.submit(*link_of(mailer.sent[-1]), EXPLANATION)  # findings in time

    result = service.ask(complaint_id, "lead", "token-reopened", 3600)  # the customer said no

    assert result.slaMissed is False


@pytest.mark.parametrize("sig", ["0" * 32, "", None])
def test_a_link_with_a_wrong_or_missing_signature_is_refused_as_unknown(
    service, mailer, complaint_id, sig, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, _ = link_of(mailer.sent[-1])

    with pytest.raises(LinkForged):
        pages.open_page(link_id, sig)
    with pytest.raises(LinkForged):
        pages.submit(link_id, sig, REFUND_150)


def test_an_unknown_link_is_refused_as_unknown(service, complaint_id, pages):
    with pytest.raises(LinkForged):
        pages.open_page("no-such-link", "0" * 32)


# ------------------------------------------------------------------ submitting findings


def test_bad_findings_are_refused_and_the_link_stays_open(
    service, repository, mailer, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])

    with pytest.raises(ValidationError):
        pages.submit(link_id, sig, {**REFUND_150, "amount": ""})  # a refund needs an amount

    assert repository.links[link_id].status == LinkStatus.OPEN
    assert callbacks.succeeded == []
    pages.submit(link_id, sig, REFUND_150)  # the person can correct it and send again
    assert len(callbacks.succeeded) == 1


def test_findings_are_handed_to_the_waiting_task_once_and_a_second_submit_is_refused(
    service, repository, mailer, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])

    pages.submit(link_id, sig, REFUND_150)

    ((token, output),) = callbacks.succeeded
    assert token == TOKEN
    assert output["findings"]["remedy"] == "refund"
    assert output["findings"]["currency"] == "CNY"
    assert output["findings"]["customerMessage"] == "We refund the 150 CNY."
    assert repository.links[link_id].status == LinkStatus.DONE
    with pytest.raises(LinkDecided):
        pages.submit(link_id, sig, EXPLANATION)
    with pytest.raises(LinkDecided):
        pages.open_page(link_id, sig)
    assert len(callbacks.succeeded) == 1


def test_findings_for_a_task_that_no_longer_waits_are_kept_for_the_steps_next_task(
    service, repository, mailer, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    callbacks.forget(TOKEN)  # the wait timed out between the page's GET and its POST

    with pytest.raises(AnswerKept):
        pages.submit(link_id, sig, REFUND_150)

    kept = repository.links[link_id]
    assert (kept.status, kept.kept) == (LinkStatus.DONE, True)
    assert kept.answer == {"findings": Findings.model_validate(REFUND_150).model_dump(mode="json")}
    assert callbacks.succeeded == []
    with pytest.raises(LinkDecided):  # answered: a second click is told so
        pages.open_page(link_id, sig)

    # The reminder's new wait takes the kept findings at once: no email, no second wait.
    emails = len(mailer.sent)
    service.ask(complaint_id, "investigator", "token-2", 3600)
    assert callbacks.succeeded == [("token-2", kept.answer)]
    assert len(mailer.sent) == emails
    assert repository.links[link_id].kept is False
    assert [e.type for e in repository.events[complaint_id]][-1] == "ANSWER_HANDED_ON"
    # A later wait of the step (after a rejection, say) never takes it again.
    service.ask(complaint_id, "investigator", "token-3", 3600)
    assert [token for token, _ in callbacks.succeeded] == ["token-2"]


def test_findings_step_functions_could_not_take_are_kept_and_taken_up_by_the_lead(
    service, repository, mailer, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    callbacks.unreachable = True  # SendTaskSuccess throttled or failing, retries spent

    with pytest.raises(AnswerKept):
        pages.submit(link_id, sig, EXPLANATION)

    callbacks.unreachable = False
    answer = service.ask(complaint_id, "lead", "token-lead", 3600)
    assert answer.slaMissed is True  # the findings came, but too late for the investigator's wait
    assert callbacks.succeeded == [("token-lead", repository.links[link_id].answer)]


def test_a_kept_answer_that_cannot_be_handed_on_stays_kept_and_the_step_retries(
    service, repository, mailer, callbacks, complaint_id, pages
):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    callbacks.forget(TOKEN)
    with pytest.raises(AnswerKept):
        pages.submit(link_id, sig, EXPLANATION)
    callbacks.unreachable = True

    with pytest.raises(TransientError):  # the state machine retries TransientError by name
        service.ask(complaint_id, "investigator", "token-2", 3600)
    assert repository.links[link_id].kept is True

    callbacks.unreachable = False
    service.ask(complaint_id, "investigator", "token-2", 3600)
    assert [token for token, _ in callbacks.succeeded] == ["token-2"]


def test_a_link_past_its_wait_is_gone(service, repository, mailer, clock, callbacks, complaint_id, pages):
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    clock.advance(3601)

    with pytest.raises(LinkGone):
        pages.open_page(link_id, sig)
    with pytest.raises(LinkGone):
        pages.submit(link_id, sig, REFUND_150)
    assert callbacks.succeeded == []


# ------------------------------------------------------------------ recording findings


@pytest.mark.parametrize(
    ("findings", "status"),
    [
        (REFUND_150, Status.AWAITING_APPROVAL),
        ({**REFUND_150, "amount": "100.00"}, Status.RESOLVING),  # not over 100
        (EXPLANATION, Status.RESOLVING),
        ({**EXPLANATION, "remedy": "account_fix"}, Status.RESOLVING),
        ({**REFUND_150, "remedy": "compensation", "amount": "5.00"}, Status.AWAITING_APPROVAL),
    ],
    ids=["refund-150", "refund-100", "explanation", "account-fix", "compensation"],
)
def test_findings_send_the_case_to_approval_or_on_to_the_remedy(
    service, repository, complaint_id, findings, status
):
    investigating(repository, complaint_id)

    result = service.record_findings(complaint_id, findings)

    assert result.model_dump() == {"complaintId": complaint_id, "remedy": findings["remedy"]}
    case = repository.cases[complaint_id]
    assert case.status == status
    assert case.findings["remedy"] == findings["remedy"]
    assert repository.event_types(complaint_id)[-1] == "FINDINGS_RECORDED"


def test_findings_recorded_twice_keep_the_first(service, repository, complaint_id):
    investigating(repository, complaint_id)
    service.record_findings(complaint_id, REFUND_150)

    service.record_findings(complaint_id, EXPLANATION)

    case = repository.cases[complaint_id]
    assert case.findings["remedy"] == "refund"
    assert case.status == Status.AWAITING_APPROVAL
    assert repository.event_types(complaint_id).count("FINDINGS_RECORDED") == 1


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
