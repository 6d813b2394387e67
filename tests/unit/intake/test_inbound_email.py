"""Inbound email as real mail has it: GBK (declared as GB2312 too), quoted-printable and base64 bodies,
encoded headers, HTML without a text part, attachments, and the headers a reply threads by."""

from __future__ import annotations

import base64
import hashlib
import quopri

from complaints.intake.inbound_email import html_to_text, parse

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
COMPLAINT_ZH = "我的提款三天了还没到账，订单号 TX-88812。喆"  # 喆 is in GBK, not in GB2312


def _gbk_mail(declared: str) -> bytes:
    body = base64.encodebytes(COMPLAINT_ZH.encode("gbk")).decode()
    subject = base64.b64encode("提款未到账".encode("gbk")).decode()
    attachment = base64.encodebytes(PNG).decode()
    return (
        "From: =?gbk?b?" + base64.b64encode("王芳".encode("gbk")).decode() + "?= <Wang.Fang@Example.CN>\r\n"
        "To: complaints@example.com\r\n"
        f"Subject: =?gbk?b?{subject}?=\r\n"
        "Message-ID: <m1@mail.example.cn>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        f'Content-Type: text/plain; charset="{declared}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{body}"
        "--b1\r\n"
        'Content-Type: image/png; name="slip.png"\r\n'
        'Content-Disposition: attachment; filename="slip.png"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{attachment}"
        "--b1--\r\n"
    ).encode("ascii")


def test_a_gbk_mail_with_a_screenshot_reads_as_sent():
    mail = parse(_gbk_mail("gbk"))

    assert (mail.sender, mail.sender_name) == ("wang.fang@example.cn", "王芳")
    assert mail.recipients == ["complaints@example.com"]
    assert mail.subject == "提款未到账"
    assert mail.text == COMPLAINT_ZH
    assert mail.message_id == "<m1@mail.example.cn>"
    (slip,) = mail.attachments
    assert (slip.filename, slip.content_type, slip.data) == ("slip.png", "image/png", PNG)
    assert slip.sha256 == hashlib.sha256(PNG).hexdigest()


def test_gbk_text_declared_as_gb2312_is_read_whole():
    assert parse(_gbk_mail("gb2312")).text == COMPLAINT_ZH


def test_quoted_printable_utf8_and_the_headers_a_reply_threads_by():
    text = "My bet on match 42 was settled wrong — I want it resettled."
    raw = (
        b"From: Bob <bob@example.org>\r\n"
        b"To: Complaints <complaints+abc@example.com>\r\n"
        b"Cc: someone@example.org\r\n"
        b"Subject: Re: Your complaint CMP-20261201-7K3QZ9\r\n"
        b"Message-ID: <r2@example.org>\r\n"
        b"In-Reply-To: <ack.CMP-20261201-7K3QZ9@example.com>\r\n"
        b"References: <first@example.org>\r\n <ack.CMP-20261201-7K3QZ9@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
    ) + quopri.encodestring(text.encode())

    mail = parse(raw)

    assert mail.text == text
    assert mail.recipients == ["complaints+abc@example.com", "someone@example.org"]
    assert mail.in_reply_to == "<ack.CMP-20261201-7K3QZ9@example.com>"
    assert mail.references == ["<first@example.org>", "<ack.CMP-20261201-7K3QZ9@example.com>"]
    assert mail.thread_ids == ["<ack.CMP-20261201-7K3QZ9@example.com>", "<first@example.org>"]
    assert mail.attachments == []


def test_html_without_a_text_part_is_reduced_to_its_text():
    raw = (
        b"From: c@example.org\r\nTo: complaints@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style><title>t</title></head><body>"
        b"<p>My account is <b>frozen</b>&nbsp;since Monday.</p><script>alert(1)</script>"
        b"<div>Please help &amp; reply.</div></body></html>"
    )

    assert parse(raw).text == "My account is frozen since Monday.\n\nPlease help & reply."


def test_a_charset_python_does_not_know_is_read_not_refused():
    raw = (
        b"From: c@example.org\r\nTo: complaints@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=x-unheard-of\r\n\r\nbonus not paid \xff"
    )
    assert parse(raw).text == "bonus not paid \ufffd"


def test_html_to_text_keeps_line_breaks_between_blocks():
    assert html_to_text("<p>one</p><p>two<br>three</p>") == "one\n\ntwo\nthree"
