"""The investigator's part, on the running stack: the email link, the case page with its evidence, the
findings form; double and concurrent clicks, forged links, tampered evidence; and, on a stack whose
clock runs fast, the reminder, the escalations and the overdue case."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from tests.e2e.conftest import Stack
from tests.support.driver import (
    FINDINGS,
    ROSTER,
    history,
    investigator_link,
    states_entered,
    submit_payment_complaint,
    task_link,
    wait_for,
    wait_for_email,
    wait_for_execution_end,
    wait_for_status,
)


def test_the_investigator_records_findings_from_the_email_link(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)

    first_look = requests.get(link, timeout=10)
    second_look = requests.get(link, timeout=10)  # a mail scanner, then the person: GET decides nothing
    assert first_look.status_code == second_look.status_code == 200
    assert "PENDING_AT_BANK" in first_look.text  # the ledger record, gathered as evidence
    assert "Evidence chain intact" in first_look.text

    incomplete = requests.post(link, data={**FINDINGS, "remedy": "refund"}, timeout=10)
    assert incomplete.status_code == 422
    assert "amount" in incomplete.text
    done = requests.post(link, data=FINDINGS, timeout=10)
    assert done.status_code == 200
    assert "Recorded" in done.text

    view = wait_for_status(stack, accepted, "AWAITING_CONFIRMATION")
    assert states_entered(history(stack, accepted["complaintId"]))[-7:] == [
        "Wait for investigator",
        "Findings or a question?",
        "Record findings",
        "Decide approval level",
        "Needs approval?",
        "Apply remedy",  # an explanation needs no approval
        "Wait for the customer's answer",
    ]
    findings = next(e for e in view["timeline"] if e["type"] == "FINDINGS_RECORDED")
    assert "explanation" in findings["detail"]

    again = requests.post(link, data=FINDINGS, timeout=10)
    assert again.status_code == 409
    assert "done already" in again.text
    assert requests.get(link, timeout=10).status_code == 409


def test_forged_and_altered_links_are_not_found(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)
    parts = urlsplit(link)
    link_id, sig = parts.path.rsplit("/", 1)[1], parts.query.removeprefix("sig=")
    altered = f"{stack.api_url}/tasks/{link_id}?sig={sig[:-1]}{'0' if sig[-1] != '0' else '1'}"
    unknown = f"{stack.api_url}/tasks/{uuid.uuid4().hex}?sig={sig}"
    unsigned = f"{stack.api_url}/tasks/{link_id}"

    for url in (altered, unknown, unsigned):
        assert requests.get(url, timeout=10).status_code == 404
        assert requests.post(url, data=FINDINGS, timeout=10).status_code == 404
    assert wait_for_status(stack, accepted, "INVESTIGATING")["status"] == "INVESTIGATING"  # nothing decided


def test_concurrent_clicks_record_the_findings_once(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: requests.post(link, data=FINDINGS, timeout=20), range(6)))

    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    view = wait_for_status(stack, accepted, "AWAITING_CONFIRMATION")
    assert [e["type"] for e in view["timeline"]].count("FINDINGS_RECORDED") == 1


def test_tampered_evidence_is_detected(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)
    stack.client("dynamodb").update_item(
        TableName="CasesTable",
        Key={"pk": {"S": f"CASE#{accepted['complaintId']}"}, "sk": {"S": "EVIDENCE#0000"}},
        UpdateExpression="SET #data.#status = :forged",
        ExpressionAttributeNames={"#data": "data", "#status": "status"},
        ExpressionAttributeValues={":forged": {"S": "PAID"}},
    )

    page = requests.get(link, timeout=10)

    assert page.status_code == 200
    assert "Evidence chain broken at item 0" in page.text


def test_no_findings_means_reminder_then_lead_then_head_then_needs_attention(fast_stack: Stack):
    stack = fast_stack
    accepted = submit_payment_complaint(stack)
    complaint_id = accepted["complaintId"]

    view = wait_for_status(stack, accepted, "NEEDS_ATTENTION")

    team = ROSTER[view["department"]]
    person = next(p for p in team.investigators if p.name == view["assignee"])
    to_investigator = [m for m in stack.mailbox() if person.email in m["to"] and complaint_id in m["subject"]]
    assert [m["subject"].startswith("Reminder") for m in to_investigator] == [False, True]
    first_link, reminder_link = (task_link(m) for m in to_investigator)
    assert reminder_link == first_link  # the reminder keeps the same link working
    lead_email = wait_for_email(stack, team.lead.email, complaint_id)
    head_email = wait_for_email(stack, team.head.email, complaint_id)
    lead_link = task_link(lead_email)
    head_link = task_link(head_email)

    # Each escalation left the earlier link answering 410 with who holds the task now.
    superseded = requests.get(first_link, timeout=10)
    assert superseded.status_code == 410
    assert team.lead.name in superseded.text
    assert team.head.name in requests.get(lead_link, timeout=10).text
    expired = requests.post(head_link, data=FINDINGS, timeout=10)
    assert expired.status_code == 410

    alert = wait_for(
        lambda: next(
            (m for m in stack.mailbox() if "ops@example.com" in m["to"] and complaint_id in m["subject"]),
            None,
        ),
        what="the ops alert",
    )
    assert "Wait for head of department" in alert["text"]
    execution = wait_for_execution_end(stack, complaint_id)
    assert execution["status"] == "FAILED"
    types = [e["type"] for e in wait_for_status(stack, accepted, "NEEDS_ATTENTION")["timeline"]]
    assert types.count("ESCALATED") == 2
    assert "REMINDER_SENT" in types
    assert types[-1] == "NEEDS_ATTENTION"
    assert states_entered(history(stack, complaint_id))[-7:] == [
        "Wait for investigator",
        "Wait for investigator after reminder",
        "Wait for department lead",
        "Wait for head of department",
        "Investigation overdue",
        "Record failure",
        "Needs attention",
    ]


def test_no_task_token_or_link_signature_reaches_the_logs(stack: Stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)
    requests.get(link, timeout=10)
    requests.post(link, data=FINDINGS, timeout=10)
    wait_for_status(stack, accepted, "AWAITING_CONFIRMATION")
    link_id, sig = urlsplit(link).path.rsplit("/", 1)[1], urlsplit(link).query.removeprefix("sig=")
    item = stack.client("dynamodb").get_item(
        TableName="CasesTable", Key={"pk": {"S": f"LINK#{link_id}"}, "sk": {"S": "LINK"}}
    )["Item"]
    token = item["token"]["S"]

    logs = stack.logs()
    assert f"/tasks/{link_id}" in logs  # the request was logged, without its query string
    assert token not in logs
    assert sig not in logs
