"""The complainant writes and sends a file from the status page, on the running embedded stack, as a browser
does it (forms, redirects, no script): the message form; the "attach a file" form, the upload page whose
form posts straight to S3, S3's redirect back, the status page showing the file with its hash."""

from __future__ import annotations

import hashlib
import re
from html import unescape
from urllib.parse import urljoin

import requests

from tests.e2e.conftest import Stack
from tests.support.driver import form, investigator_link, status_view, submit_payment_complaint

SLIP = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
BROWSER = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en"}


def test_the_complainant_writes_and_sends_a_file_from_the_status_page(stack: Stack):
    accepted = submit_payment_complaint(stack)
    browser = requests.Session()
    browser.headers.update(BROWSER)
    page = browser.get(accepted["statusUrl"], timeout=10).text

    # A message.
    action, fields = form(page, "message-form")
    after = browser.post(
        urljoin(accepted["statusUrl"], action), data={**fields, "text": "I was charged a fee too."}
    )
    assert after.url.split("?")[0] == accepted["statusUrl"].split("?")[0]  # back on the status page
    assert "I was charged a fee too." in after.text

    # A file: the type, then the upload page, whose form goes straight to S3, which sends the browser back.
    action, fields = form(after.text, "attach-form")
    upload_page = browser.post(
        urljoin(accepted["statusUrl"], action), data={**fields, "contentType": "application/pdf"}
    )
    assert upload_page.status_code == 200
    s3_url, s3_fields = form(upload_page.text, "upload-form")
    assert s3_url.startswith(stack.aws_endpoint)  # the file does not go through the API
    assert "form-action 'self' " + stack.aws_endpoint in upload_page.headers["Content-Security-Policy"]
    done = browser.post(
        s3_url, data=s3_fields, files={"file": ("bank statement.pdf", SLIP, "application/pdf")}
    )

    assert done.status_code == 200 and done.url.split("?")[0] == accepted["statusUrl"].split("?")[0]
    assert "bank statement.pdf" in done.text
    view = status_view(accepted)
    [message, sent] = view["messages"]
    assert message["text"] == "I was charged a fee too."
    [file] = sent["files"]
    assert (file["filename"], file["sha256"]) == ("bank statement.pdf", hashlib.sha256(SLIP).hexdigest())

    # The investigator sees the message and downloads the file from the link page (a 5-minute S3 link).
    link, _ = investigator_link(stack, accepted)
    task_page = requests.get(link, timeout=10).text
    assert "I was charged a fee too." in task_page
    download = unescape(
        re.search(r'<a href="([^"]+)" rel="noopener">bank statement.pdf</a>', task_page).group(1)
    )
    assert requests.get(download, timeout=10).content == SLIP
