"""The email intake function against moto, as SES drives it: the email stored in the receipt rule's bucket,
then the function invoked with SES's event, under its own role."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import unescape

import pytest
import requests
from aiosmtpd.smtp import Envelope
from botocore.exceptions import ClientError

from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.core.models import CaseEvent, Status
from complaints.core.reply_address import reply_address
from infra import moto_hooks
from infra.gateway import Gateway
from infra.lambdas import HandlerError
from infra.smtp import SesReceiving, dead_letter, new_message_id, ses_event
from tests.contract.support import T0, claim_for, new_case
from tests.integration.conftest import Aws, StageClient

CUSTOMER = "li.wei@example.com"


def email(sender: str = f"Li Wei <{CUSTOMER}>", to: str = "complaints@example.com", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "提现没有到账"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("我三天前提现 150 元，到现在还没有到账。", charset="gbk")
    message.add_attachment(b"%PDF-1.7 slip", maintype="application", subtype="pdf", filename="slip.pdf")
    return message.as_bytes()


def receive(aws: Aws, raw: bytes, recipients: list[str] | None = None) -> tuple[str, dict]:
    """What SES does: store the email under the rule's prefix, then invoke the rule's function."""
    (rule,) = aws.tpl.receipt_rules
    mail_id = new_message_id()
    aws.client("s3").put_object(Bucket=rule.bucket, Key=f"{rule.prefix}{mail_id}", Body=raw)
    runtime = aws.runtimes[rule.function]
    event = ses_event(mail_id, raw, CUSTOMER, recipients or ["complaints@example.com"], rule, runtime.arn)
    return mail_id, runtime.invoke(event)


def only_case(aws: Aws) -> dict:
    (case,) = aws.items("case")
    return case


def test_an_email_becomes_a_case_whose_workflow_starts(aws: Aws, logs):
    mail_id, answer = receive(aws, email())

    assert answer == {"disposition": "CONTINUE"}
    case = only_case(aws)
    assert (case["channel"], case["locale"], case["customer"]["email"]) == ("email", "zh-CN", CUSTOMER)
    assert case["public_base_url"].endswith("/prod")  # the API the acknowledgement's links point to
    assert [e["name"] for e in aws.executions()] == [case["complaint_id"]]
    (message,) = aws.items("message")
    (file,) = message["files"]
    assert file["filename"] == "slip.pdf"
    files = aws.tpl.buckets["AttachmentsBucket"]
    assert file["location"] == f"s3://{files}/uploads/{case['complaint_id']}/{mail_id}/1-slip.pdf"
    kept = aws.client("s3").get_object(Bucket=files, Key=file["location"].split("/", 3)[3])["Body"].read()
    assert kept == b"%PDF-1.7 slip"
    written = logs.getvalue()
    assert '"outcome":"created"' in written
    assert CUSTOMER not in written and "提现" not in written  # no personal data in the logs


def test_the_same_event_delivered_again_changes_nothing(aws: Aws):
    (rule,) = aws.tpl.receipt_rules
    raw = email()
    mail_id = new_message_id()
    aws.client("s3").put_object(Bucket=rule.bucket, Key=f"inbound/{mail_id}", Body=raw)
    runtime = aws.runtimes[rule.function]
    event = ses_event(mail_id, raw, CUSTOMER, ["complaints@example.com"], rule, runtime.arn)
    runtime.invoke(event)
    runtime.invoke(event)  # Lambda's retry of an asynchronous invoke

    assert len(aws.items("case")) == 1 and len(aws.items("message")) == 1
    assert len(aws.executions()) == 1


def test_a_reply_from_someone_else_is_held_for_ops(aws: Aws):
    receive(aws, email())
    case = only_case(aws)
    key = aws.client("secretsmanager").get_secret_value(SecretId="LinkSigningSecret")["SecretString"].encode()
    address = reply_address("complaints@example.com", case["complaint_id"], key)
    receive(aws, email(sender="mallory@example.net", to=address), [address])

    assert len(aws.items("message")) == 1
    (held,) = aws.items("held_mail")
    assert (held["reason"], held["claimed_case"], held["pk"]) == (
        "other_sender",
        case["complaint_id"],
        "HELD",
    )


def test_an_event_whose_email_is_not_stored_fails_for_lambda_to_retry(aws: Aws):
    (rule,) = aws.tpl.receipt_rules
    runtime = aws.runtimes[rule.function]
    event = ses_event(new_message_id(), email(), CUSTOMER, ["complaints@example.com"], rule, runtime.arn)

    with pytest.raises(HandlerError) as failed:
        runtime.invoke(event)
    assert failed.value.payload["errorType"] == "MailNotFound"
    assert aws.items("case") == []


@pytest.fixture
def unrecorded(aws: Aws):
    with moto_hooks.unrecorded():
        yield


def test_the_function_reads_only_the_rules_prefix_and_no_other_function_reads_the_bucket(
    aws: Aws, unrecorded
):
    (rule,) = aws.tpl.receipt_rules
    s3 = aws.client("s3")
    s3.put_object(Bucket=rule.bucket, Key="inbound/m1", Body=b"x")
    s3.put_object(Bucket=rule.bucket, Key="elsewhere/m1", Body=b"x")
    own = aws.runtimes[rule.function].session.client("s3")

    assert own.get_object(Bucket=rule.bucket, Key="inbound/m1")["Body"].read() == b"x"
    with pytest.raises(ClientError, match="AccessDenied"):
        own.get_object(Bucket=rule.bucket, Key="elsewhere/m1")
    with pytest.raises(ClientError, match="AccessDenied"):
        aws.runtimes["IntakeApiFunction"].session.client("s3").get_object(
            Bucket=rule.bucket, Key="inbound/m1"
        )


def test_an_email_the_function_cannot_take_in_ends_in_the_dead_letter_queue_with_the_error(aws: Aws):
    """SES invokes asynchronously: Lambda tries three times, then sends the event to the function's
    dead-letter queue with the function's role (the local stack's SMTP listener does the same)."""
    (rule,) = aws.tpl.receipt_rules
    runtime = aws.runtimes[rule.function]
    receiving = SesReceiving(
        [rule],
        lambda bucket, key, raw: None,  # stored nowhere: every try fails with MailNotFound
        lambda function, event: runtime.invoke(event),
        lambda function, event, error: dead_letter(runtime, event, error),
        lambda function: runtime.arn,
        pauses=(0.0,),
    )
    envelope = Envelope()
    envelope.mail_from = CUSTOMER
    envelope.rcpt_tos = ["complaints@example.com"]
    envelope.original_content = email()
    asyncio.run(receiving.handle_DATA(None, None, envelope))
    (delivery,) = receiving.deliveries
    delivery.join(30)

    sqs = aws.client("sqs")
    queue = sqs.get_queue_url(QueueName="InboundMailDeadLetters")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "MailNotFound"
    assert json.loads(message["Body"])["Records"][0]["eventSource"] == "aws:ses"
    assert aws.items("case") == []


def test_ops_see_the_held_email_and_the_cases_conversation(aws: Aws):
    receive(aws, email())
    complaint_id = only_case(aws)["complaint_id"]
    key = aws.client("secretsmanager").get_secret_value(SecretId="LinkSigningSecret")["SecretString"].encode()
    address = reply_address("complaints@example.com", complaint_id, key)
    receive(aws, email(to=address), [address])  # the customer's reply
    receive(aws, email(sender="mallory@example.net", to=address), [address])
    ops = StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token="t"))
    token = {"Authorization": "Bearer t"}

    page = ops.get("/ops", headers=token).get_data(as_text=True)
    held = ops.get("/ops/api/held", headers=token).get_json()
    execution = ops.get(f"/ops/executions/{complaint_id}", headers=token).get_data(as_text=True)

    assert [(m["sender"], m["reason"], m["claimed_case"]) for m in held] == [
        ("mallory@example.net", "other_sender", complaint_id)
    ]
    assert 'id="held-table"' in page and "mallory@example.net" in page and "other sender" in page
    assert execution.count(">slip.pdf</a>") == 2  # the complaint and the reply, each with its file
    assert "我三天前提现" in execution
    link = unescape(re.search(r'<a href="([^"]+)" rel="noopener">slip.pdf</a>', execution).group(1))
    assert requests.get(link, timeout=10).content == b"%PDF-1.7 slip"
    downloads = [
        (f, c.action) for f, c, allowed in moto_hooks.recorded_checks() if allowed and "s3:Get" in c.action
    ]
    assert ("OpsFunction", "s3:GetObject") in downloads  # the link is the ops function's, on its role


def test_a_download_link_stops_working_after_five_minutes(aws: Aws, monkeypatch):
    receive(aws, email())
    complaint_id = only_case(aws)["complaint_id"]
    ops = StageClient(Gateway(aws.runtimes, aws.tpl.stages, ops_token="t"))
    page = ops.get(f"/ops/executions/{complaint_id}", headers={"Authorization": "Bearer t"}).get_data(
        as_text=True
    )
    link = unescape(re.search(r'<a href="([^"]+)" rel="noopener">slip.pdf</a>', page).group(1))
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(
        "infra.moto_hooks.datetime", type("Later", (datetime,), {"now": staticmethod(lambda tz=None: later)})
    )

    assert requests.get(link, timeout=10).status_code == 403


def test_a_reply_while_the_case_waits_for_an_answer_goes_to_step_functions_as_the_functions_role(aws: Aws):
    """The investigator asked the customer (the case AWAITING_CUSTOMER, its waiting task's token on it):
    the reply is added to the case and handed to that task, with the function's own role. Here the wait has
    just ended (its token no longer valid): the reply is kept all the same, and the resume reads it."""
    complaint_id = "CMP-20260305-QWA1T1"
    waiting = new_case(
        complaint_id,
        email=CUSTOMER,
        status=Status.AWAITING_CUSTOMER,
        question="Which bank?",
        question_token="an-ended-task-token",
        question_asked_at=T0,
        sla_paused_at=T0,
    )
    DynamoCaseRepository(aws.table).create(waiting, CaseEvent(at=T0, type="RECEIVED"), claim_for(waiting), T0)
    key = aws.client("secretsmanager").get_secret_value(SecretId="LinkSigningSecret")["SecretString"].encode()
    address = reply_address("complaints@example.com", complaint_id, key)

    receive(aws, email(to=address), [address])

    (message,) = aws.items("message")
    assert message["pk"] == f"CASE#{complaint_id}" and message["author"] == "customer"
    asked = [
        (function, allowed)
        for function, check, allowed in moto_hooks.recorded_checks()
        if check.action == "states:SendTaskSuccess"
    ]
    assert asked == [("EmailIntakeFunction", True)]
