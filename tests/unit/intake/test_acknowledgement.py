"""The acknowledgement on the fakes: one email in the customer's language with the ticket id, the due date and
the status link, recorded once, and withheld past an address's hourly limit."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.adapters.ses import SesMailer
from complaints.core.errors import CaseNotFound, MailRejected, TransientError
from complaints.core.models import ComplaintIn
from complaints.core.reply_address import case_of
from complaints.intake.acknowledgement import Acknowledger
from complaints.intake.service import IntakeService
from tests.fakes import FakeClock, make_settings

CUSTOMER = "alice@example.com"


def submit(intake: IntakeService, name: str | None = "Alice", locale: str | None = None, email=CUSTOMER):
    customer = {"email": email} | ({"name": name} if name else {}) | ({"locale": locale} if locale else {})
    document = {"customer": customer, "description": "Charged twice.", "channel": "web"}
    return intake.submit(ComplaintIn.model_validate(document)).accepted


# ------------------------------------------------------------------ acknowledgement


def test_the_acknowledgement_is_one_email_to_the_customer_with_id_due_date_and_status_link(
    intake, acknowledger, mailer, repository
):
    accepted = submit(intake)

    result = acknowledger.acknowledge(accepted.complaintId)

    assert result.sent
    assert len(mailer.sent) == 1
    email = mailer.sent[0]
    assert email.to == [CUSTOMER]
    assert email.subject == f"We received your complaint {accepted.complaintId}"
    for part in (email.text, email.html):
        assert "Dear Alice," in part
        assert accepted.complaintId in part
        assert "2026-04-30" in part  # 8 weeks after 5 March
        assert accepted.accessCode in part
    status_link = f"https://api.example/complaints/{accepted.complaintId}?code={accepted.accessCode}"
    assert status_link in email.text
    assert f'href="{status_link}"' in email.html
    assert "You will receive our final response by 2026-04-30." in email.text


def test_the_acknowledgement_is_recorded_and_the_clear_access_code_forgotten(
    intake, acknowledger, repository
):
    accepted = submit(intake)

    result = acknowledger.acknowledge(accepted.complaintId)

    case, events = repository.get(accepted.complaintId)
    assert case.acknowledged_at is not None
    assert result.acknowledgedAt == case.acknowledged_at.isoformat()
    assert case.pending_access_code is None
    assert events[-1].type == "ACKNOWLEDGED"
    view = intake.status(accepted.complaintId, accepted.accessCode)
    assert view.timeline[-1].detail == "Acknowledgement sent by email."


def test_a_chinese_customer_gets_the_acknowledgement_in_chinese(intake, acknowledger, mailer):
    accepted = submit(intake, name="李娜", locale="zh-CN")

    acknowledger.acknowledge(accepted.complaintId)

    email = mailer.sent[0]
    assert email.subject == f"我们已收到您的投诉 {accepted.complaintId}"
    assert "尊敬的李娜：" in email.text
    assert f"您的投诉已登记，工单号为 {accepted.complaintId}。" in email.text
    assert "您将在 2026-04-30 之前收到我们的最终答复。" in email.text
    assert f"您的查询码是 {accepted.accessCode}" in email.text
    assert "Thank you" not in email.text
    assert '<html lang="zh-CN">' in email.html


def test_a_customer_without_a_name_is_greeted_politely(intake, acknowledger, mailer):
    accepted = submit(intake, name=None)

    acknowledger.acknowledge(accepted.complaintId)

    assert "Dear customer," in mailer.sent[0].text
    assert "None" not in mailer.sent[0].text


def test_the_due_date_is_the_local_date_in_shanghai(repository, workflow, mailer, policy):
    # Received 20:00 UTC on 5 March: due 20:00 UTC on 30 April, which is 04:00 on 1 May in Shanghai.
    clock = FakeClock(datetime(2026, 3, 5, 20, 0, tzinfo=UTC))
    settings = make_settings()
    intake = IntakeService(repository, workflow, policy, settings, clock=clock)
    acknowledger = Acknowledger(repository, mailer, policy, settings, clock=clock)
    accepted = submit(intake)

    acknowledger.acknowledge(accepted.complaintId)

    assert "You will receive our final response by 2026-05-01." in mailer.sent[0].text


def test_the_name_is_escaped_in_the_html_email(intake, acknowledger, mailer):
    accepted = submit(intake, name="Jean O'Neill")

    acknowledger.acknowledge(accepted.complaintId)

    assert "Dear Jean O&#39;Neill," in mailer.sent[0].html
    assert "Dear Jean O'Neill," in mailer.sent[0].text


def test_a_name_with_markup_is_not_used_at_all(intake, acknowledger, mailer):
    accepted = submit(intake, name="<b>Mallory</b>")

    acknowledger.acknowledge(accepted.complaintId)

    assert "Mallory" not in mailer.sent[0].html
    assert "Dear customer," in mailer.sent[0].text


def test_a_second_acknowledgement_sends_nothing(intake, acknowledger, mailer, repository, clock):
    accepted = submit(intake)
    first = acknowledger.acknowledge(accepted.complaintId)
    clock.advance(30)

    again = acknowledger.acknowledge(accepted.complaintId)

    assert not again.sent
    assert again.acknowledgedAt == first.acknowledgedAt
    assert len(mailer.sent) == 1
    assert repository.event_types(accepted.complaintId).count("ACKNOWLEDGED") == 1


def test_an_acknowledgement_the_mail_service_refuses_is_not_recorded(
    intake, acknowledger, mailer, repository
):
    accepted = submit(intake)
    mailer.reject_to = {CUSTOMER}

    with pytest.raises(MailRejected):
        acknowledger.acknowledge(accepted.complaintId)

    case, events = repository.get(accepted.complaintId)
    assert case.acknowledged_at is None
    assert case.pending_access_code == accepted.accessCode
    assert "ACKNOWLEDGED" not in [event.type for event in events]


def _record_fails(repository, monkeypatch, times: int) -> list[int]:
    """mark_acknowledged throttled `times` times (after the email went out), then as before."""
    calls: list[int] = []
    mark = repository.mark_acknowledged

    def throttled(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise TransientError("DynamoDB ProvisionedThroughputExceededException")
        return mark(*args, **kwargs)

    monkeypatch.setattr(repository, "mark_acknowledged", throttled)
    return calls


def test_a_throttled_record_after_the_email_is_retried_here_not_by_sending_again(
    intake, mailer, repository, policy, settings, clock, monkeypatch
):
    """The email is out: a step that failed now would be retried by the state machine and send it again."""
    pauses: list[float] = []
    acknowledger = Acknowledger(repository, mailer, policy, settings, clock=clock, sleep=pauses.append)
    accepted = submit(intake)
    calls = _record_fails(repository, monkeypatch, times=3)

    acknowledged = acknowledger.acknowledge(accepted.complaintId)
    acknowledger.acknowledge(accepted.complaintId)  # the step delivered again: nothing more

    assert acknowledged.sent and len(mailer.sent) == 1
    assert len(calls) == 4 and pauses == [0.2, 0.4, 0.8]
    case, events = repository.get(accepted.complaintId)
    assert case.acknowledged_at is not None
    assert [event.type for event in events].count("ACKNOWLEDGED") == 1


def test_a_record_that_keeps_failing_fails_the_step_after_five_tries(
    intake, mailer, repository, policy, settings, clock, monkeypatch
):
    acknowledger = Acknowledger(repository, mailer, policy, settings, clock=clock, sleep=lambda _: None)
    accepted = submit(intake)
    calls = _record_fails(repository, monkeypatch, times=99)

    with pytest.raises(TransientError):
        acknowledger.acknowledge(accepted.complaintId)
    assert len(calls) == 5 and len(mailer.sent) == 1


class CapturingSes:
    """A sesv2 client that accepts every raw email."""

    def __init__(self):
        self.raw: list[bytes] = []

    def send_email(self, **kwargs):
        self.raw.append(kwargs["Content"]["Raw"]["Data"])
        return {"MessageId": f"ses-{len(self.raw)}"}


def test_an_acknowledgement_sent_again_after_a_lost_record_is_the_same_text_and_recorded_once(
    intake, repository, policy, settings, clock, monkeypatch
):
    """Sending and recording are two systems: when the record is lost for good after the send (the step
    fails, the state machine runs it again), the complainant can get the acknowledgement twice (SES gives
    each its own Message-ID): the same words, the same links; the case records it once."""
    ses = CapturingSes()
    acknowledger = Acknowledger(
        repository,
        SesMailer(ses, "complaints@example.com"),
        policy,
        settings,
        clock=clock,
        sleep=lambda _: None,
    )
    accepted = submit(intake)
    _record_fails(repository, monkeypatch, times=5)

    with pytest.raises(TransientError):
        acknowledger.acknowledge(accepted.complaintId)
    acknowledger.acknowledge(accepted.complaintId)  # the step's retry

    first, again = (message_from_bytes(raw, policy=email_policy.default) for raw in ses.raw)
    assert first["Subject"] == again["Subject"]
    assert first.get_body(("plain",)).get_content() == again.get_body(("plain",)).get_content()
    assert first["Message-ID"] is None  # SES writes its own
    assert first["Auto-Submitted"] == "auto-generated"  # auto-responders do not answer it
    _, events = repository.get(accepted.complaintId)
    assert [event.type for event in events].count("ACKNOWLEDGED") == 1


def test_a_reply_to_the_acknowledgement_goes_to_the_cases_signed_address(
    intake, repository, policy, settings, clock
):
    """The acknowledgement's Reply-To is the case's own signed address: a reply reaches the case by it,
    never by the ticket number in the subject; each case has its own."""
    ses = CapturingSes()
    key = b"reply-key"
    acknowledger = Acknowledger(
        repository, SesMailer(ses, "complaints@example.com"), policy, settings, clock=clock, reply_key=key
    )
    first, second = submit(intake), submit(intake, email="someone.else@example.com")

    acknowledger.acknowledge(first.complaintId)
    acknowledger.acknowledge(second.complaintId)

    reply_to = [str(message_from_bytes(raw, policy=email_policy.default)["Reply-To"]) for raw in ses.raw]
    assert [case_of(address, key) for address in reply_to] == [first.complaintId, second.complaintId]
    assert all(address.startswith("complaints+") and address.endswith("@example.com") for address in reply_to)


def test_the_sent_acknowledgement_is_remembered_for_replies_threaded_by_in_reply_to(
    intake, repository, mailer, policy, settings, clock
):
    acknowledger = Acknowledger(repository, mailer, policy, settings, clock=clock, conversation=repository)
    first, second = submit(intake), submit(intake, email="someone.else@example.com")

    acknowledger.acknowledge(first.complaintId)
    acknowledger.acknowledge(second.complaintId)

    # FakeMailer's ids are message-1, message-2 (SES's, on AWS).
    assert repository.case_of_sent_mail("message-1") == first.complaintId
    assert repository.case_of_sent_mail("message-2") == second.complaintId


def test_acknowledging_an_unknown_case_sends_nothing(acknowledger, mailer):
    with pytest.raises(CaseNotFound):
        acknowledger.acknowledge("CMP-20260305-ABCDEF")
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["ConditionalCheckFailed", "None"], True),  # counted by an earlier attempt
        (["None", "ConditionalCheckFailed"], False),  # the address had its hour's acknowledgements
        (["None", "TransactionConflict"], TransientError),  # another acknowledgement to it, this moment
    ],
)
def test_how_the_mail_counter_transaction_ends(reasons, expected):
    class Client:
        def transact_write_items(self, **_):
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException"},
                    "CancellationReasons": [{"Code": code} for code in reasons],
                },
                "TransactWriteItems",
            )

    table = SimpleNamespace(name="CasesTable", meta=SimpleNamespace(client=Client()))
    count = DynamoCaseRepository(table).count_acknowledgement
    args = ("CMP-20260305-ABCDEF", "0" * 64, "2026-03-05T12", 5, datetime(2026, 3, 5, 12, tzinfo=UTC))
    if expected is TransientError:
        with pytest.raises(TransientError):
            count(*args)
    else:
        assert count(*args) is expected
