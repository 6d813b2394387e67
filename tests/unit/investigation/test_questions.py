"""Asking the complainant, on the in-memory fakes: the findings page's question, the case waiting for the
answer with its resolution target paused (the regulatory deadline never is), the question and its
reminder by email, the answer (a message on the status page) ending the wait, and the investigation
resuming with the target moved on by the time waited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from complaints.classification.taxonomy import load_taxonomy
from complaints.core.calendar import load_policy
from complaints.core.errors import ConflictError
from complaints.core.models import Status
from complaints.core.reply_address import case_of
from complaints.core.tasks import LinkStatus
from complaints.intake.service import status_view
from complaints.intake.uploads import Uploads
from tests.fakes import FakeFileStore, make_settings
from tests.unit.assigned import KEY, TOKEN, link_of

QUESTION = "Which bank account did you withdraw to, and on which day?"
ANSWER_TOKEN = "task-token-ANSWER-1"
REMINDER_TOKEN = "task-token-ANSWER-2"


@pytest.fixture
def asked(service, pages, mailer, callbacks, complaint_id) -> str:
    """The investigator opened their link and asked the complainant instead of giving findings."""
    service.gather_evidence(complaint_id)
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])
    pages.submit(link_id, sig, {"question": f"  {QUESTION}  "})
    assert callbacks.succeeded[-1] == (TOKEN, {"question": QUESTION})  # the wait's output: $.answer.question
    mailer.sent.clear()
    return complaint_id


@pytest.fixture
def uploads(repository, callbacks, clock) -> Uploads:
    return Uploads(repository, repository, FakeFileStore(), make_settings(), clock=clock, callbacks=callbacks)


def test_the_question_form_needs_a_question_and_leaves_the_link_open_without_one(
    service, pages, mailer, repository, callbacks, complaint_id
):
    service.gather_evidence(complaint_id)
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])

    with pytest.raises(ValidationError):
        pages.submit(link_id, sig, {"question": "   "})

    assert repository.links[link_id].status == LinkStatus.OPEN
    assert callbacks.succeeded == []


def test_the_question_goes_on_the_case_which_waits_for_the_complainant_with_its_sla_paused(
    service, repository, settings, clock, asked
):
    put = service.put_question(asked, QUESTION)

    case, events = repository.get(asked)
    assert case.status == Status.AWAITING_CUSTOMER
    assert (case.question, case.question_level, case.sla_paused_at) == (QUESTION, "investigator", clock())
    [message] = repository.messages(asked)
    assert (message.author, message.text) == ("staff", QUESTION)
    assert events[-1].type == "SLA_PAUSED"
    # The waits: to the close of the 5th business day, then 2 more after the reminder (policy time).
    policy = load_policy()
    answer_by = policy.add_business_days(clock(), 5)
    assert put.answerSeconds == round((answer_by - clock()).total_seconds() / settings.time_scale)
    reminder_by = policy.add_business_days(answer_by, 2)
    assert put.reminderSeconds == round((reminder_by - answer_by).total_seconds() / settings.time_scale)
    # A retried step asks nothing twice.
    assert service.put_question(asked, QUESTION) == put
    assert len(repository.messages(asked)) == 1
    assert repository.event_types(asked).count("SLA_PAUSED") == 1


def test_only_a_case_under_investigation_is_put_on_hold(service, repository, complaint_id):
    with pytest.raises(ConflictError):  # still TRIAGED
        service.put_question(complaint_id, QUESTION)
    assert repository.get(complaint_id)[0].status == Status.TRIAGED


def test_the_complainant_gets_the_question_by_email_once_with_the_cases_reply_address(
    service, repository, mailer, asked
):
    service.put_question(asked, QUESTION)

    awaited = service.await_answer(asked, ANSWER_TOKEN, reminder=False)
    service.await_answer(asked, ANSWER_TOKEN, reminder=False)  # delivered again: no second email

    assert awaited.answered is False
    [email] = mailer.sent
    assert email.to == ["alice@example.com"]
    assert "we need some more information" in email.subject
    assert QUESTION in email.text
    assert case_of(email.reply_to, KEY) == asked  # a reply reaches the case
    assert repository.case_of_sent_mail("message-1") == asked  # and so does its In-Reply-To
    case = repository.get(asked)[0]
    assert (case.question_token, case.question_notified) == (ANSWER_TOKEN, 1)


def test_no_answer_in_time_brings_one_reminder(service, repository, mailer, asked):
    service.put_question(asked, QUESTION)
    service.await_answer(asked, ANSWER_TOKEN, reminder=False)

    service.await_answer(asked, REMINDER_TOKEN, reminder=True)
    service.await_answer(asked, REMINDER_TOKEN, reminder=True)

    assert [e.subject.startswith("Reminder:") for e in mailer.sent] == [False, True]
    assert QUESTION in mailer.sent[-1].text
    assert repository.get(asked)[0].question_token == REMINDER_TOKEN
    assert repository.event_types(asked).count("QUESTION_REMINDED") == 1


def code_of(repository, complaint_id: str) -> str:
    """The access code the complainant holds (kept in clear until the acknowledgement, not sent here)."""
    return repository.get(complaint_id)[0].pending_access_code


def test_the_complainants_message_on_the_status_page_ends_the_wait(
    service, repository, callbacks, uploads, asked
):
    service.put_question(asked, QUESTION)
    service.await_answer(asked, ANSWER_TOKEN, reminder=False)

    uploads.add_text(asked, code_of(repository, asked), "My ICBC account, on 3 March.")

    assert callbacks.succeeded[-1] == (ANSWER_TOKEN, {"answered": True})


def test_a_message_while_no_question_waits_ends_nothing(
    service, repository, callbacks, uploads, complaint_id
):
    service.gather_evidence(complaint_id)
    before = list(callbacks.succeeded)

    uploads.add_text(complaint_id, code_of(repository, complaint_id), "One more thing.")

    assert callbacks.succeeded == before


def test_an_answer_before_the_wait_began_answers_it_at_once_without_an_email(
    service, repository, mailer, callbacks, uploads, asked, clock
):
    service.put_question(asked, QUESTION)
    clock.advance(5)
    uploads.add_text(asked, code_of(repository, asked), "My ICBC account, on 3 March.")  # no task waits yet

    awaited = service.await_answer(asked, ANSWER_TOKEN, reminder=False)

    assert awaited.answered is True
    assert callbacks.succeeded[-1] == (ANSWER_TOKEN, {"answered": True})
    assert mailer.sent == []


def test_an_answer_to_a_wait_that_timed_out_is_taken_by_the_reminders_wait(
    service, repository, mailer, callbacks, uploads, asked, clock
):
    service.put_question(asked, QUESTION)
    service.await_answer(asked, ANSWER_TOKEN, reminder=False)
    callbacks.forget(ANSWER_TOKEN)  # its timer ran out as the complainant wrote
    clock.advance(5)
    uploads.add_text(asked, code_of(repository, asked), "Sorry for the delay: ICBC, 3 March.")

    awaited = service.await_answer(asked, REMINDER_TOKEN, reminder=True)

    assert awaited.answered is True
    assert callbacks.succeeded[-1] == (REMINDER_TOKEN, {"answered": True})
    assert len(mailer.sent) == 1  # the question; no reminder


def test_resuming_moves_the_resolution_target_by_the_time_waited_and_never_the_deadline(
    service, repository, settings, uploads, asked, clock
):
    service.put_question(asked, QUESTION)
    before = repository.get(asked)[0]
    clock.advance(90)  # 90 real seconds: 90 policy minutes at this time scale (60)
    uploads.add_text(asked, code_of(repository, asked), "My ICBC account, on 3 March.")

    resumed = service.resume(asked)

    case, events = repository.get(asked)
    assert case.status == Status.INVESTIGATING
    assert case.resolution_due_at == before.resolution_due_at + timedelta(minutes=90)
    assert case.response_due_at == before.response_due_at
    assert (case.sla_paused_at, case.sla_paused_seconds) == (None, 90 * settings.time_scale)
    assert events[-1].type == "SLA_RESUMED" and events[-1].params == {"waited": "1h 30m"}
    assert (resumed.level, resumed.answered) == ("investigator", True)
    assert resumed.reminderSeconds == service.clocks(asked).reminderSeconds  # from the moved target
    assert repository.counted()["customer_wait#answered"] == 1
    assert repository.counted()["customer_wait_minutes"] == 90
    # A retried step moves nothing twice.
    assert service.resume(asked).level == "investigator"
    assert repository.get(asked)[0].resolution_due_at == case.resolution_due_at


def test_no_answer_at_all_resumes_the_investigation_with_what_it_has(service, repository, asked, clock):
    service.put_question(asked, QUESTION)
    clock.advance(60)

    resumed = service.resume(asked)

    assert resumed.answered is False
    assert repository.event_types(asked)[-1] == "SLA_RESUMED_NO_ANSWER"
    assert repository.counted()["customer_wait#unanswered"] == 1


def test_back_from_the_question_the_investigator_gets_a_new_link_and_nothing_is_escalated(
    service, repository, mailer, asked
):
    service.put_question(asked, QUESTION)
    service.resume(asked)

    service.ask(asked, "investigator", "task-token-FINDINGS-2", 3600)

    assert repository.event_types(asked)[-1] == "INVESTIGATION_RESUMED"
    assert not any(name.startswith("escalation#") for name in repository.counted())
    assert "needs your findings" in mailer.sent[-1].subject


def test_the_status_view_shows_the_question_and_both_clocks(service, repository, settings, asked, clock):
    service.put_question(asked, QUESTION)
    clock.advance(30)
    case, events = repository.get(asked)

    waiting = status_view(case, events, load_taxonomy(), repository.messages(asked), 30 * settings.time_scale)

    assert waiting.status == Status.AWAITING_CUSTOMER
    assert (waiting.question, waiting.slaPausedSince, waiting.slaPausedSeconds) == (
        QUESTION,
        case.sla_paused_at,
        1800,
    )
    assert waiting.responseDueAt == case.response_due_at
    assert "resolution target waits for your answer" in waiting.timeline[-1].detail


def test_a_message_that_lands_as_the_question_is_put_does_not_stop_it_and_both_are_counted(
    service, repository, uploads, asked, monkeypatch
):
    """The complainant writes between the step's read of the case and its write: a message is counted on the
    case without a new version, so the step's version check still holds (it used to fail, and the case
    went to NEEDS_ATTENTION)."""
    stale = repository.get(asked)
    uploads.add_text(asked, code_of(repository, asked), "Also: the fee was 5 CNY.")
    reads = iter([stale])
    real_get = repository.get
    monkeypatch.setattr(repository, "get", lambda complaint_id: next(reads, None) or real_get(complaint_id))

    service.put_question(asked, QUESTION)

    case = repository.get(asked)[0]
    assert case.status == Status.AWAITING_CUSTOMER
    assert case.message_count == 2  # the complainant's message and the question
