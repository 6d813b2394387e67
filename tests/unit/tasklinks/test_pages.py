"""The link pages (TaskPages) on the in-memory fakes: findings submitted through a link are handed to the
waiting task exactly once, kept when no task waits, and refused when the link is forged, used or gone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complaints.core.conversation import FileRef, Message
from complaints.core.errors import AnswerKept, LinkDecided, LinkGone, TransientError
from complaints.core.models import CaseEvent
from complaints.core.tasks import REMEDIES, ROOT_CAUSES, Findings, LinkStatus
from complaints.presentation.render import render
from tests.unit.assigned import EXPLANATION, REFUND_150, TOKEN, link_of

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


def test_the_investigators_page_shows_the_conversation_with_the_complainant(
    service, repository, mailer, complaint_id, pages, clock
):
    file = FileRef(
        filename="slip.png", content_type="image/png", size=9, sha256="ab" * 32, location="s3://b/k"
    )
    note = Message(
        key="m1", at=clock(), channel="email", author="customer", text="Bank slip attached.", files=[file]
    )
    repository.add_message(complaint_id, note, CaseEvent(at=clock(), type="MESSAGE_RECEIVED"))
    service.ask(complaint_id, "investigator", TOKEN, 3600)
    link_id, sig = link_of(mailer.sent[-1])

    view = pages.open_page(link_id, sig)

    assert [(m.text, [f.sha256 for f in m.files]) for m in view.messages] == [
        ("Bank slip attached.", ["ab" * 32])
    ]
    html = render(
        "task_page.html",
        view=view,
        action="/x",
        errors=[],
        values={},
        remedies=REMEDIES,
        root_causes=ROOT_CAUSES,
    )
    assert "Bank slip attached." in html and "ab" * 32 in html
