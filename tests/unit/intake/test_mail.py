"""MailIntake on the fakes: a new email becomes a case, a reply threads into its case only from the case's
customer and only through a signed reply address or one of our Message-IDs, everything else is held for
ops, and a delivery repeated changes nothing."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from complaints.core.evidence import verify
from complaints.core.models import Status
from complaints.core.reply_address import reply_address
from complaints.intake.contracts import Delivery
from complaints.intake.inbound_email import parse
from complaints.intake.mail import MailIntake, language_of
from complaints.intake.service import IntakeService
from tests.fakes import FakeCallbacks, FakeMailStore

KEY = b"k" * 32
CUSTOMER = "li.wei@example.com"


def raw_mail(
    sender: str = f"Li Wei <{CUSTOMER}>",
    to: str = "complaints@example.com",
    subject: str = "提现没有到账",
    text: str = "我三天前提现 150 元，到现在还没有到账。",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


@pytest.fixture
def store() -> FakeMailStore:
    return FakeMailStore()


@pytest.fixture
def mail_intake(intake, repository, store, settings, clock) -> MailIntake:
    return MailIntake(intake, repository, repository, store, settings, KEY, clock=clock)


def deliver(mail_intake: MailIntake, store: FakeMailStore, mail_id: str, raw: bytes, **fields):
    store.mail[mail_id] = raw
    return mail_intake.receive(Delivery(mail_id=mail_id, recipients=["complaints@example.com"], **fields))


def new_case(mail_intake, store) -> str:
    outcome = deliver(mail_intake, store, "first", raw_mail())
    assert outcome.outcome == "created"
    return outcome.complaint_id


def test_an_email_becomes_a_case_on_the_email_channel_in_the_senders_language(
    mail_intake, store, repository, workflow, clock
):
    message = EmailMessage()
    message["From"] = f"Li Wei <{CUSTOMER}>"
    message["To"] = "complaints@example.com"
    message["Subject"] = "提现没有到账"
    message.set_content("我三天前提现 150 元，到现在还没有到账。", charset="gbk")
    message.add_attachment(b"\x89PNG slip", maintype="image", subtype="png", filename="slip.png")
    arrived = clock() - timedelta(seconds=2)  # SES took it in a moment before the function ran
    outcome = deliver(mail_intake, store, "0001", message.as_bytes(), received_at=arrived)

    assert outcome.outcome == "created"
    case, events = repository.get(outcome.complaint_id)
    assert (case.channel, case.locale, case.customer.email, case.customer.name) == (
        "email",
        "zh-CN",
        CUSTOMER,
        "Li Wei",
    )
    assert case.subject == "提现没有到账" and "150 元" in case.description
    assert workflow.started == [outcome.complaint_id]
    [first] = repository.messages(outcome.complaint_id)
    [file] = first.files
    assert (file.filename, file.content_type, file.size) == ("slip.png", "image/png", 9)
    assert file.location == "s3://inbound-mail/inbound/0001#attachment-1"
    assert len(file.sha256) == 64
    assert [e.type for e in events] == ["RECEIVED", "WORKFLOW_STARTED", "MESSAGE_RECEIVED"]
    assert first.at == arrived
    chained = repository.evidence(outcome.complaint_id)  # the file's hash is in the evidence chain
    assert [(i.source, i.reference, i.data["sha256"]) for i in chained] == [
        ("complainant", "slip.png", file.sha256)
    ]
    assert verify(chained).intact


def test_the_same_delivery_twice_makes_one_case_and_one_message(mail_intake, store, repository):
    first = deliver(mail_intake, store, "0001", raw_mail())
    again = deliver(mail_intake, store, "0001", raw_mail())

    assert (again.outcome, again.complaint_id, again.first_time) == ("created", first.complaint_id, False)
    assert len(repository.cases) == 1
    assert len(repository.messages(first.complaint_id)) == 1


def test_a_reply_to_the_reply_address_from_the_customer_threads_into_the_case(
    mail_intake, store, repository, clock
):
    complaint_id = new_case(mail_intake, store)
    clock.advance(60)
    address = reply_address("complaints@example.com", complaint_id, KEY)
    outcome = deliver(mail_intake, store, "0002", raw_mail(to=address, subject="Re: ...", text="The slip."))

    assert (outcome.outcome, outcome.complaint_id) == ("threaded", complaint_id)
    assert [m.text for m in repository.messages(complaint_id)][-1] == "The slip."
    assert repository.cases[complaint_id].message_count == 2
    assert len(repository.cases) == 1


def test_the_reply_address_is_found_in_the_envelope_when_the_headers_do_not_name_it(
    mail_intake, store, repository
):
    complaint_id = new_case(mail_intake, store)
    store.mail["0002"] = raw_mail(to="undisclosed-recipients:;")
    address = reply_address("complaints@example.com", complaint_id, KEY).upper()  # case folded on the way
    outcome = mail_intake.receive(Delivery(mail_id="0002", recipients=[address]))

    assert (outcome.outcome, outcome.complaint_id) == ("threaded", complaint_id)


def test_a_reply_from_another_address_is_held_for_ops_and_not_added(mail_intake, store, repository):
    complaint_id = new_case(mail_intake, store)
    address = reply_address("complaints@example.com", complaint_id, KEY)
    outcome = deliver(mail_intake, store, "0002", raw_mail(sender="mallory@example.net", to=address))

    assert (outcome.outcome, outcome.reason) == ("held", "other_sender")
    assert len(repository.messages(complaint_id)) == 1
    [held] = repository.held_mail(10)
    assert (held.sender, held.claimed_case, held.location) == (
        "mallory@example.net",
        complaint_id,
        "s3://inbound-mail/inbound/0002",
    )


def test_a_held_email_delivered_again_is_held_once(mail_intake, store, repository):
    stranger = raw_mail(
        sender="mallory@example.net",
        to=reply_address("complaints@example.com", new_case(mail_intake, store), KEY),
    )
    first = deliver(mail_intake, store, "0002", stranger)
    again = deliver(mail_intake, store, "0002", stranger)

    assert (first.first_time, again.first_time) == (True, False)
    assert len(repository.held_mail(10)) == 1


def test_a_forged_reply_address_is_held(mail_intake, store, repository):
    complaint_id = new_case(mail_intake, store)
    forged = reply_address("complaints@example.com", complaint_id, b"another key" * 3)
    outcome = deliver(mail_intake, store, "0002", raw_mail(to=forged))

    assert (outcome.outcome, outcome.reason) == ("held", "unknown_reply_address")
    assert len(repository.cases) == 1


def test_a_fresh_email_quoting_a_ticket_number_is_a_new_case_not_a_reply(mail_intake, store, repository):
    complaint_id = new_case(mail_intake, store)
    outcome = deliver(
        mail_intake,
        store,
        "0002",
        raw_mail(subject=f"Re: {complaint_id}", text=f"About {complaint_id}: more."),
    )

    assert outcome.outcome == "created" and outcome.complaint_id != complaint_id
    assert len(repository.messages(complaint_id)) == 1


def test_a_reply_threads_by_in_reply_to_one_of_our_sent_emails(mail_intake, store, repository):
    complaint_id = new_case(mail_intake, store)
    repository.remember_sent_mail("0100018f2a-ack", complaint_id)
    outcome = deliver(
        mail_intake,
        store,
        "0002",
        raw_mail(In_Reply_To="<0100018f2a-ack@email.amazonses.com>", text="Reply to the sender address."),
    )

    assert (outcome.outcome, outcome.complaint_id) == ("threaded", complaint_id)


def test_a_reply_to_a_case_that_is_gone_is_held(mail_intake, store, repository):
    address = reply_address("complaints@example.com", "CMP-20260305-ABCDEF", KEY)
    outcome = deliver(mail_intake, store, "0002", raw_mail(to=address))

    assert (outcome.outcome, outcome.reason) == ("held", "unknown_case")


@pytest.mark.parametrize(
    ("verdicts", "reason"), [({"spam": True}, "spam"), ({"virus": True}, "virus")], ids=["spam", "virus"]
)
def test_mail_the_scan_flags_is_held(mail_intake, store, repository, verdicts, reason):
    outcome = deliver(mail_intake, store, "0002", raw_mail(), **verdicts)

    assert (outcome.outcome, outcome.reason) == ("held", reason)
    assert repository.cases == {}


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"sender": "MAILER-DAEMON@mx.example.net"}],
    ids=["auto-submitted", "bulk", "bounce"],
)
def test_automatic_mail_is_ignored_so_no_acknowledgement_loop_starts(mail_intake, store, repository, headers):
    outcome = deliver(mail_intake, store, "0002", raw_mail(**headers))

    assert outcome.outcome == "ignored"
    assert repository.cases == {} and repository.held == {}


def test_mail_for_another_mailbox_of_the_domain_is_held_not_made_a_case(mail_intake, store, repository):
    store.mail["0002"] = raw_mail(to="sales@example.com")
    outcome = mail_intake.receive(Delivery(mail_id="0002", recipients=["sales@example.com"]))

    assert (outcome.outcome, outcome.reason) == ("held", "other_mailbox")
    assert repository.cases == {}


def test_mail_from_our_own_address_is_ignored(mail_intake, store, repository):
    outcome = deliver(mail_intake, store, "0002", raw_mail(sender="complaints@example.com"))

    assert outcome.outcome == "ignored"
    assert repository.cases == {}


def test_an_email_with_nothing_to_read_is_held_not_dropped(mail_intake, store, repository):
    outcome = deliver(mail_intake, store, "0002", raw_mail(subject="", text=""))

    assert (outcome.outcome, outcome.reason) == ("held", "unreadable")
    assert repository.cases == {}


def test_the_case_from_an_email_starts_received(mail_intake, store, repository):
    complaint_id = new_case(mail_intake, store)
    assert repository.cases[complaint_id].status == Status.RECEIVED


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我三天前提现 150 元，到现在还没有到账。", "zh-CN"),
        ("My withdrawal of 150 CNY is late.", "en"),
        ("", "en"),
    ],
)
def test_the_answer_is_in_the_language_the_email_is_written_in(text, language):
    assert language_of(parse(raw_mail(subject="", text=text))) == language


def test_the_complainant_sees_the_conversation_but_not_where_files_are_kept(
    repository, workflow, policy, settings, clock, store
):
    intake = IntakeService(repository, workflow, policy, settings, clock=clock, conversation=repository)
    mail_intake = MailIntake(intake, repository, repository, store, settings, KEY, clock=clock)
    message = EmailMessage()
    message["From"] = CUSTOMER
    message["To"] = "complaints@example.com"
    message["Subject"] = "Withdrawal missing"
    message.set_content("My withdrawal of 150 CNY has not arrived.")
    message.add_attachment(b"%PDF-1.7 statement", maintype="application", subtype="pdf", filename="s.pdf")
    complaint_id = deliver(mail_intake, store, "0001", message.as_bytes()).complaint_id
    clock.advance(60)
    address = reply_address("complaints@example.com", complaint_id, KEY)
    deliver(mail_intake, store, "0002", raw_mail(sender=CUSTOMER, to=address, subject="Re", text="Any news?"))

    view = intake.status(complaint_id, repository.cases[complaint_id].pending_access_code)

    assert [(m.author, m.channel, m.text) for m in view.messages] == [
        ("customer", "email", "My withdrawal of 150 CNY has not arrived."),
        ("customer", "email", "Any news?"),
    ]
    [file] = view.messages[0].files
    assert (file.filename, file.contentType, file.size) == ("s.pdf", "application/pdf", 18)
    assert "s3://" not in view.model_dump_json()


def test_a_reply_while_the_case_waits_for_the_customers_answer_ends_the_wait(
    intake, repository, store, settings, clock
):
    """The investigator asked a question (the case AWAITING_CUSTOMER, the waiting task's token on it): the
    customer's reply by email answers it, as a message on the status page does."""
    callbacks = FakeCallbacks()
    mail_intake = MailIntake(
        intake, repository, repository, store, settings, KEY, clock=clock, callbacks=callbacks
    )
    complaint_id = new_case(mail_intake, store)
    waiting = {"status": Status.AWAITING_CUSTOMER, "question": "Which bank?", "question_token": "token-1"}
    repository.cases[complaint_id] = repository.cases[complaint_id].model_copy(update=waiting)
    clock.advance(60)

    address = reply_address("complaints@example.com", complaint_id, KEY)
    deliver(mail_intake, store, "0002", raw_mail(to=address, subject="Re: more information", text="ICBC."))

    assert callbacks.succeeded == [("token-1", {"answered": True})]
    # From another sender it is held, and answers nothing.
    deliver(mail_intake, store, "0003", raw_mail(sender="x@example.net", to=address, text="Me too."))
    assert len(callbacks.succeeded) == 1
