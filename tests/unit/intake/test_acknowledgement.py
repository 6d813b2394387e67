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
from complaints.intake.acknowledgement import Acknowledger
from complaints.intake.service import IntakeService
from complaints.presentation.email import plain_name
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


def test_an_acknowledgement_sent_again_after_a_lost_record_is_the_same_message(
    intake, repository, policy, settings, clock, monkeypatch
):
    """Sending and recording are two systems: when the record is lost for good after the send (the step
    fails, the state machine runs it again), the complainant can get the acknowledgement twice. It is the
    same message (the same Message-ID), which mail clients show once; the case records it once."""
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

    ids = [message_from_bytes(raw, policy=email_policy.default)["Message-ID"] for raw in ses.raw]
    assert ids == [f"<ack.{accepted.complaintId}@example.com>"] * 2
    _, events = repository.get(accepted.complaintId)
    assert [event.type for event in events].count("ACKNOWLEDGED") == 1
    other = submit(intake, email="someone.else@example.com")
    acknowledger.acknowledge(other.complaintId)
    assert message_from_bytes(ses.raw[-1], policy=email_policy.default)["Message-ID"] != ids[0]


def test_acknowledging_an_unknown_case_sends_nothing(acknowledger, mailer):
    with pytest.raises(CaseNotFound):
        acknowledger.acknowledge("CMP-20260305-ABCDEF")
    assert mailer.sent == []


# ------------------------------------------------------------------ abuse of the acknowledgement

SPAM_NAME = "Winner! Claim your prize at http://evil.example/claim?id=1"
VICTIM = "victim@example.org"


def submit_as(intake: IntakeService, name: str | None, email: str, text: str):
    customer = {"email": email} | ({"name": name} if name else {})
    document = {"customer": customer, "description": text, "channel": "api"}
    return intake.submit(ComplaintIn.model_validate(document)).accepted


def test_the_reported_spam_name_is_not_mailed_out(intake, acknowledger, mailer):
    accepted = submit_as(intake, SPAM_NAME, VICTIM, "Prize.")

    acknowledger.acknowledge(accepted.complaintId)

    email = mailer.sent[0]
    for part in (email.text, email.html):
        assert "Dear customer," in part
        assert "Winner" not in part
        assert "evil" not in part
        assert "http://evil" not in part


@pytest.mark.parametrize(
    "name",
    [
        SPAM_NAME,
        "evil.example",
        "Visit evil.example now",
        "www dot evil",  # harmless words are fine: see the next test
        "Alice <alice@evil.example>",
        "Call 555 0100",
        "Alice: see https://x",
        "x" * 61,
        "...",
    ],
)
def test_names_carrying_links_or_implausible_are_not_used(name):
    expected = {"www dot evil": "www dot evil"}.get(name)
    assert plain_name(name) == expected


@pytest.mark.parametrize(
    "name",
    ["Alice", "李娜", "Jean-Luc O'Neill", "J. R. R. Tolkien", "María José García", "José  Ñúñez", "O’Brien"],
)
def test_real_names_are_kept(name):
    assert plain_name(name) == " ".join(name.split())


def test_an_address_gets_five_acknowledgements_an_hour_and_the_rest_are_withheld(
    intake, acknowledger, mailer, repository, clock
):
    accepted = [submit_as(intake, "Victim", VICTIM, f"Complaint {n}.") for n in range(7)]

    results = [acknowledger.acknowledge(a.complaintId) for a in accepted]

    assert len(mailer.to(VICTIM)) == 5
    assert [r.sent for r in results] == [True] * 5 + [False] * 2
    assert [r.withheld for r in results] == [False] * 5 + [True] * 2
    case, events = repository.get(accepted[5].complaintId)
    assert case.acknowledged_at is None and case.ack_suppressed_at is not None
    assert case.pending_access_code is None  # the clear code is forgotten all the same
    assert events[-1].type == "ACK_WITHHELD"
    view = intake.status(accepted[5].complaintId, accepted[5].accessCode)  # the case is there
    assert view.timeline[-1].detail == (
        "No acknowledgement email was sent: this address had 5 acknowledgements in the past hour already."
    )
    assert [key for key in repository.mail_counters] and all(
        VICTIM not in recipient for recipient, _hour in repository.mail_counters
    )


def test_other_addresses_are_not_held_back_and_the_next_hour_starts_again(
    intake, acknowledger, mailer, clock
):
    for n in range(6):
        acknowledger.acknowledge(submit_as(intake, None, VICTIM, f"Complaint {n}.").complaintId)
    acknowledger.acknowledge(submit_as(intake, None, CUSTOMER, "Mine.").complaintId)
    assert len(mailer.to(VICTIM)) == 5
    assert len(mailer.to(CUSTOMER)) == 1

    clock.advance(3600)
    acknowledger.acknowledge(submit_as(intake, None, VICTIM, "Next hour.").complaintId)

    assert len(mailer.to(VICTIM)) == 6


def test_a_withheld_acknowledgement_stays_withheld_when_the_step_is_retried(
    intake, acknowledger, mailer, clock
):
    accepted = [submit_as(intake, None, VICTIM, f"Complaint {n}.") for n in range(6)]
    for a in accepted:
        acknowledger.acknowledge(a.complaintId)
    clock.advance(3600)

    again = acknowledger.acknowledge(accepted[5].complaintId)

    assert again.withheld and not again.sent
    assert len(mailer.to(VICTIM)) == 5


def test_a_retried_acknowledgement_counts_once(intake, acknowledger, mailer, repository):
    accepted = submit_as(intake, None, VICTIM, "Complaint.")
    mailer.reject_to = {VICTIM}
    for _ in range(3):
        with pytest.raises(MailRejected):
            acknowledger.acknowledge(accepted.complaintId)
    mailer.reject_to = set()

    assert acknowledger.acknowledge(accepted.complaintId).sent
    assert list(repository.mail_counters.values()) == [1]


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
