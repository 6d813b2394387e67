"""The investigator asks the complainant a question, on the running embedded stack, as people would: the
findings page's other form; the complainant's email with the question; their answer with a file from the
status page (forms, the upload page, S3's redirect); the investigation resuming with a new link. The two
clocks: the resolution target waits for the answer and moves on by the time waited; the regulatory
final-response deadline never moves. With no answer, the reminder goes out and the investigation goes on."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urljoin

import requests

from complaints.core.rules import load_triage_policy
from tests.e2e.conftest import Stack
from tests.support.driver import (
    form,
    investigator_link,
    status_view,
    submit_complaint,
    task_link,
    wait_for,
    wait_for_email,
    wait_for_status,
)

QUESTION = "Which bank account did you withdraw to, and on which day?"
SLIP = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a screenshot of the bank's page
BROWSER = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en"}


def _customer() -> str:
    return f"asked.{uuid.uuid4().hex[:8]}@example.com"


def _ask(link: str) -> requests.Response:
    """The investigator opens their link and sends the question form instead of findings."""
    page = requests.get(link, headers=BROWSER, timeout=10)
    assert page.status_code == 200
    action, fields = form(page.text, "question-form")
    return requests.post(
        urljoin(link, action), data={**fields, "question": QUESTION}, headers=BROWSER, timeout=10
    )


def _investigator_email(view: dict) -> str:
    team = load_triage_policy().roster[view["department"]]
    return next(p.email for p in team.investigators if p.name == view["assignee"])


def _types(view: dict) -> list[str]:
    return [entry["type"] for entry in view["timeline"]]


def test_the_customer_answers_with_a_file_and_the_investigation_resumes_with_the_sla_moved_on(stack: Stack):
    customer = _customer()
    accepted = submit_complaint(
        stack,
        {
            "customer": {"email": customer},
            "description": "My withdrawal of 150 CNY has not arrived after three days.",
            "amount": {"value": "150.00", "currency": "CNY"},
        },
    )
    link, view = investigator_link(stack, accepted)
    before = status_view(accepted)

    asked = _ask(link)

    assert asked.status_code == 200 and "goes to the complainant by email" in asked.text
    waiting = wait_for_status(stack, accepted, "AWAITING_CUSTOMER")
    assert waiting["question"] == QUESTION and waiting["slaPausedSince"]
    email = wait_for_email(stack, customer, accepted["complaintId"], "more information")
    assert QUESTION in email["text"]
    assert email["replyTo"].startswith("complaints+")  # a reply by email would answer too
    browser = requests.Session()
    browser.headers.update(BROWSER)
    page = browser.get(accepted["statusUrl"], timeout=10).text
    assert QUESTION in page and "paused while we wait for your answer" in page
    queue = requests.get(
        f"{stack.api_url}/ops/api/queue", headers={"Authorization": f"Bearer {stack.ops_token}"}, timeout=10
    ).json()
    [entry] = [e for e in queue if e["complaintId"] == accepted["complaintId"]]
    assert (entry["status"], entry["paused"], entry["overdue"]) == ("AWAITING_CUSTOMER", True, False)
    assert entry["responseDueAt"] == before["responseDueAt"]  # ops see the deadline that does not pause

    time.sleep(2)  # two policy hours go by while the case waits for the complainant

    # The answer: a screenshot, sent from the status page as a browser sends it.
    action, fields = form(page, "attach-form")
    upload_page = browser.post(
        urljoin(accepted["statusUrl"], action), data={**fields, "contentType": "image/png"}
    )
    s3_url, s3_fields = form(upload_page.text, "upload-form")
    back = browser.post(s3_url, data=s3_fields, files={"file": ("bank page.png", SLIP, "image/png")})
    assert back.status_code == 200 and "bank page.png" in back.text

    resumed = wait_for(
        lambda: (
            (v := status_view(accepted))["status"] == "INVESTIGATING" and "SLA_RESUMED" in _types(v) and v
        ),
        what="the investigation to resume",
    )
    # The two clocks: the resolution target moved on by exactly the time waited; the deadline did not move.
    assert resumed["slaPausedSeconds"] >= 2 * 3600
    moved = datetime.fromisoformat(resumed["resolutionDueAt"]) - datetime.fromisoformat(
        before["resolutionDueAt"]
    )
    assert abs(moved - timedelta(seconds=resumed["slaPausedSeconds"])) < timedelta(seconds=1)
    assert resumed["responseDueAt"] == before["responseDueAt"]
    assert resumed["slaPausedSince"] is None and resumed["question"] is None
    assert _types(resumed)[-3:] == ["SLA_PAUSED", "MESSAGE_RECEIVED", "SLA_RESUMED"]
    page = browser.get(accepted["statusUrl"], timeout=10).text
    assert "hours of waiting for your answers" in page and "(does not pause)" in page

    # The investigator gets the case back by email, with a new link; the answer is on their page.
    again = wait_for_email(
        stack, _investigator_email(view), accepted["complaintId"], "needs your findings", nth=2
    )
    new_link = task_link(again)
    assert new_link != link
    task_page = requests.get(new_link, timeout=10).text
    assert QUESTION in task_page and "bank page.png" in task_page
    assert requests.get(link, timeout=10).status_code == 409  # the first link was used (for the question)


def test_with_no_answer_the_reminder_goes_out_and_the_investigation_goes_on(quicker_stack: Stack):
    stack = quicker_stack
    customer = _customer()
    accepted = submit_complaint(
        stack, {"customer": {"email": customer}, "description": "The support agent was rude to me."}
    )
    link, view = investigator_link(stack, accepted)

    assert _ask(link).status_code == 200

    wait_for_email(stack, customer, accepted["complaintId"], "more information")
    reminder = wait_for_email(stack, customer, accepted["complaintId"], "Reminder", timeout=45)
    assert QUESTION in reminder["text"]
    resumed = wait_for(
        lambda: "INVESTIGATION_RESUMED" in _types(v := status_view(accepted)) and v,
        timeout=45,
        what="the investigation to go on without an answer",
    )
    assert _types(resumed)[_types(resumed).index("SLA_PAUSED") :][:3] == [
        "SLA_PAUSED",
        "QUESTION_REMINDED",
        "SLA_RESUMED_NO_ANSWER",
    ]
    assert resumed["slaPausedSeconds"] > 5 * 24 * 3600  # it waited the business days, and the reminder's
    again = wait_for_email(
        stack, _investigator_email(view), accepted["complaintId"], "needs your findings", nth=2
    )
    assert task_link(again) != link
