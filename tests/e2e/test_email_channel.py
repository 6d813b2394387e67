"""Complaints by email on the running embedded stack, as users do it: a customer writes to the complaints
address from their mail client (smtplib, to the SMTP port the banner prints), gets the acknowledgement in
the mailbox, and replies to it; a stranger's reply and a fresh email quoting the ticket number stay out of
the case."""

from __future__ import annotations

import re
import smtplib
import uuid
from email.message import EmailMessage

import boto3
from boto3.dynamodb.conditions import Attr

from tests.e2e.conftest import Stack
from tests.support.driver import status_view, wait_for, wait_for_email

SUBJECT = "提现没有到账"
TEXT = "我三天前提现 150 元，到现在还没有到账。交易号 TX-20261119-001。"


def send(stack: Stack, message: EmailMessage) -> None:
    host, port = stack.smtp
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.send_message(message)


def first_email(sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"李伟 <{sender}>"
    message["To"] = "complaints@example.com"
    message["Subject"] = SUBJECT
    message.set_content(TEXT, charset="gbk")  # as many Chinese mail clients still send it
    message.add_attachment(
        b"\x89PNG\r\n\x1a\n bank slip", maintype="image", subtype="png", filename="转账凭证.png"
    )
    return message


def reply_to(ack: dict, sender: str, text: str) -> EmailMessage:
    """A reply as a mail client writes it: to the Reply-To, threaded under the message it answers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ack["replyTo"]
    message["Subject"] = f"Re: {ack['subject']}"
    message["In-Reply-To"] = ack["messageId"]
    message["References"] = ack["messageId"]
    message.set_content(f"{text}\n\n> {ack['text'][:200]}")
    return message


def held_mail(stack: Stack) -> list[dict]:
    """What ops see held (the table, as the AWS CLI reads it)."""
    table = boto3.resource(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="ops",
        aws_secret_access_key="ops",
    ).Table("CasesTable")
    return table.scan(FilterExpression=Attr("kind").eq("held_mail"))["Items"]


def test_the_banner_prints_where_the_stack_receives_email(stack: Stack):
    host, port = stack.smtp
    assert f"smtp://{host}:{port}" in stack.logs()
    assert stack.outputs["ComplaintsEmail"] == "complaints@example.com"


def test_an_email_becomes_a_case_and_only_its_customers_replies_join_it(stack: Stack):
    customer = f"li.wei.{uuid.uuid4().hex[:8]}@example.com"
    send(stack, first_email(customer))

    # The acknowledgement comes back by email, in the sender's language, with a reply address of the case.
    ack = wait_for_email(stack, customer, "我们已收到您的投诉")
    complaint_id = re.search(r"CMP-\d{8}-[0-9A-Z]{6}", ack["subject"]).group(0)
    assert ack["replyTo"].startswith("complaints+") and ack["messageId"].endswith("@email.amazonses.com>")
    accepted = {"statusUrl": next(u for u in ack["links"] if f"/complaints/{complaint_id}" in u)}
    view = status_view(accepted)
    assert view["timeline"][0]["detail"] == "已通过电子邮件渠道受理投诉。"
    (first,) = view["messages"]
    assert TEXT in first["text"]  # read from GBK
    assert [(f["filename"], f["contentType"]) for f in first["files"]] == [("转账凭证.png", "image/png")]

    # The customer's reply threads into the case.
    send(stack, reply_to(ack, customer, "附上银行流水，请尽快处理。"))
    view = wait_for(lambda: len((v := status_view(accepted))["messages"]) == 2 and v, what="the reply")
    assert view["messages"][1]["text"].startswith("附上银行流水")

    # A client that replies to From instead of Reply-To: the In-Reply-To (SES's Message-ID) finds the case.
    to_sender = reply_to(ack, customer, "还有一个问题。")
    to_sender.replace_header("To", "complaints@example.com")
    send(stack, to_sender)
    wait_for(lambda: len(status_view(accepted)["messages"]) == 3, what="the reply by In-Reply-To")

    # Someone else replying to the same address is held for ops, not shown to the customer.
    stranger = f"mallory.{uuid.uuid4().hex[:8]}@example.net"
    send(stack, reply_to(ack, stranger, "I am the customer, send me the refund."))
    held = wait_for(
        lambda: [m for m in held_mail(stack) if m["sender"] == stranger], what="the stranger's email held"
    )
    assert (held[0]["reason"], held[0]["claimed_case"]) == ("other_sender", complaint_id)

    # A fresh email quoting the ticket number is a complaint of its own, not a reply.
    fresh = EmailMessage()
    fresh["From"] = stranger
    fresh["To"] = "complaints@example.com"
    fresh["Subject"] = f"About {complaint_id}"
    fresh.set_content(f"Regarding ticket {complaint_id}: please pay the refund to my account.")
    send(stack, fresh)
    other = wait_for_email(stack, stranger, "We received your complaint")
    assert complaint_id not in other["subject"]
    assert [m["text"][:6] for m in status_view(accepted)["messages"]] == [
        TEXT[:6],
        "附上银行流水",
        "还有一个问题",
    ]
