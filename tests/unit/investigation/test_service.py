"""InvestigationService on the in-memory fakes: evidence gathered and chained once, the waits of the
investigation clock, findings asked for by email link (reminder, escalation), and findings recorded."""

from __future__ import annotations

import pytest

from complaints.core.errors import AnswerKept, LinkForged, LinkGone, TransientError
from complaints.core.models import Status
from complaints.core.tasks import LinkStatus
from complaints.investigation.service import InvestigationService
from tests.fakes import make_settings
from tests.unit.assigned import EXPLANATION, KEY, REFUND_150, TOKEN, investigating, link_of

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
