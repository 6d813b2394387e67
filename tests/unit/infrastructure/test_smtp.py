"""The embedded stack's SES receiving (infra/smtp.py) on its own, without a socket: the receipt rules decide
which recipients are accepted, each email is stored under the rule's prefix and SES's message id, and the
rule's function gets SES's event, with Lambda's retries and then the dead-letter queue; and how the
template's receipt rules and API URL are read (infra/template.py)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import Envelope

from complaints.intake.contracts import SesNotice
from infra.lambdas import HandlerError
from infra.smtp import SesReceiving
from infra.template import ReceiptRuleSpec, load

RULE = ReceiptRuleSpec(
    rule_set="set",
    name="complaints",
    recipients=["example.com"],
    bucket="inbound-bucket",
    prefix="inbound/",
    function="EmailIntakeFunction",
)


class Recorder:
    def __init__(self, failures: int = 0):
        self.stored: dict[tuple[str, str], bytes] = {}
        self.invoked: list[dict[str, Any]] = []
        self.dead: list[tuple[str, dict[str, Any], str]] = []
        self.failures = failures

    def store(self, bucket: str, key: str, raw: bytes) -> None:
        self.stored[(bucket, key)] = raw

    def invoke(self, function: str, event: dict[str, Any]) -> None:
        self.invoked.append(event)
        if len(self.invoked) <= self.failures:
            raise HandlerError("TransientError", "DynamoDB ThrottlingException", [])

    def dead_letter(self, function: str, event: dict[str, Any], error: HandlerError) -> None:
        self.dead.append((function, event, error.payload["errorType"]))


def receiving(recorder: Recorder) -> SesReceiving:
    return SesReceiving(
        [RULE],
        recorder.store,
        recorder.invoke,
        recorder.dead_letter,
        lambda function: f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        pauses=(0.0,),
    )


def send(handler: SesReceiving, recipients: list[str], raw: bytes) -> tuple[list[str], str]:
    envelope = Envelope()
    envelope.mail_from = "li.wei@example.com"

    async def conversation() -> tuple[list[str], str]:
        answers = [await handler.handle_RCPT(None, None, envelope, r, []) for r in recipients]
        envelope.original_content = raw
        data = await handler.handle_DATA(None, None, envelope) if envelope.rcpt_tos else ""
        return answers, data

    answers, data = asyncio.run(conversation())
    for thread in handler.deliveries:
        thread.join(5)
    return answers, data


def raw_email() -> bytes:
    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@example.com>"
    message["To"] = "complaints@example.com"
    message["Subject"] = "Withdrawal"
    message.set_content("It has not arrived.")
    return message.as_bytes()


def test_a_recipient_no_rule_covers_is_refused_as_ses_does():
    recorder = Recorder()
    answers, _ = send(receiving(recorder), ["someone@other.org"], raw_email())
    assert answers == ["550 5.1.1 Requested action not taken: mailbox unavailable"]
    assert recorder.stored == {} and recorder.invoked == []


def test_an_email_is_stored_under_the_prefix_and_its_id_then_the_function_gets_ses_event():
    recorder = Recorder()
    answers, data = send(receiving(recorder), ["complaints+abc@example.com", "x@other.org"], raw_email())

    assert answers[0] == "250 OK" and answers[1].startswith("550")
    ((bucket, key),) = recorder.stored
    mail_id = key.removeprefix("inbound/")
    assert (bucket, len(mail_id), data) == ("inbound-bucket", 40, f"250 Ok {mail_id}")
    assert recorder.stored[(bucket, key)] == raw_email()
    (event,) = recorder.invoked
    (record,) = SesNotice.model_validate(event).Records  # what the email intake function parses
    delivery = record.delivery()
    assert (delivery.mail_id, delivery.recipients, delivery.spam, delivery.virus) == (
        mail_id,
        ["complaints+abc@example.com"],
        False,
        False,
    )
    action = event["Records"][0]["ses"]["receipt"]["action"]
    assert action["functionArn"].endswith(":function:EmailIntakeFunction")


def test_a_failing_function_is_tried_three_times_then_its_event_is_dead_lettered():
    recorder = Recorder(failures=3)
    send(receiving(recorder), ["complaints@example.com"], raw_email())
    assert len(recorder.invoked) == 3
    [(function, event, error)] = recorder.dead
    assert (function, error, event) == ("EmailIntakeFunction", "TransientError", recorder.invoked[0])


def test_a_function_that_succeeds_on_a_retry_is_not_dead_lettered():
    recorder = Recorder(failures=1)
    send(receiving(recorder), ["complaints@example.com"], raw_email())
    assert len(recorder.invoked) == 2 and recorder.dead == []


def test_a_rule_matches_as_ses_matches_recipients():
    assert RULE.matches("COMPLAINTS+X@Example.com")
    assert not RULE.matches("complaints@example.com.evil.org")
    sub = ReceiptRuleSpec("s", "r", [".example.com", "ops@other.org"], "b", "", "F")
    assert sub.matches("a@mail.example.com") and sub.matches("ops@other.org")
    assert not sub.matches("a@example.com") and not sub.matches("x@other.org")


def test_the_template_is_read_with_its_receipt_rule_and_the_api_where_the_gateway_serves_it():
    local = load(api_endpoint="http://127.0.0.1:3999")
    (rule,) = local.receipt_rules
    assert (rule.function, rule.prefix, rule.recipients, rule.scan) == (
        "EmailIntakeFunction",
        "inbound/",
        ["example.com"],
        True,
    )
    assert rule.bucket == local.buckets["InboundMailBucket"] == "complaints-local-inboundmailbucket"
    intake = local.functions["EmailIntakeFunction"]
    assert intake.environment["API_URL"] == "http://127.0.0.1:3999/prod"
    assert intake.dead_letter_arn == "arn:aws:sqs:us-east-1:123456789012:InboundMailDeadLetters"
    assert load(parameters={"EmailReceiving": "Disabled"}).receipt_rules == []
