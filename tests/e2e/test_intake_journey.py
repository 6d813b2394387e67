"""A complainant's first minutes, on the running embedded stack: submit (JSON and the HTML form), get the
acknowledgement email, follow its link; ops find the execution by ticket id."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import requests

from complaints.core.reply_address import case_of
from tests.e2e.conftest import ROOT, START_LIMIT_SECONDS, Stack
from tests.support.driver import (
    history,
    states_entered,
    wait_for,
    wait_for_email,
    wait_for_execution_end,
    wait_for_status,
)


def unique_email(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.com"


def test_the_stack_answers_health_within_the_promised_time(stack: Stack):
    assert stack.started_in < START_LIMIT_SECONDS
    assert requests.get(f"{stack.base_url}/health", timeout=5).json()["status"] == "ok"


def test_json_complaint_from_submission_to_acknowledgement(stack: Stack):
    email = unique_email("li.wei")
    answer = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"name": "李伟", "email": email, "phone": "+86 139 1234 5678", "locale": "zh-CN"},
            "channel": "app",
            "description": "我三天前提现 150 元，至今没有到账。",
            "references": {"transactionId": "TX-20261119-001"},
            "amount": {"value": "150.00", "currency": "CNY"},
        },
        timeout=10,
    )
    assert answer.status_code == 202
    accepted = answer.json()
    complaint_id = accepted["complaintId"]
    assert re.fullmatch(r"CMP-\d{8}-[0-9A-Z]{6}", complaint_id)

    # The acknowledgement arrives, in Chinese, with the ticket id and a working status link.
    ack = wait_for_email(stack, email, complaint_id)
    assert "我们已收到您的投诉" in ack["subject"]
    assert "最终答复" in ack["text"]
    (link,) = [url for url in ack["links"] if "/complaints/" in url]
    status = requests.get(link, headers={"Accept": "application/json"}, timeout=10)
    assert status.status_code == 200
    assert status.json()["complaintId"] == complaint_id
    # A reply goes to the case's own signed address (the key is the stack's link-signing secret).
    secrets = stack.client("secretsmanager")
    (secret,) = secrets.list_secrets()["SecretList"]
    key = secrets.get_secret_value(SecretId=secret["ARN"])["SecretString"].encode()
    assert case_of(ack["replyTo"], key) == complaint_id

    # Without the code, or with another, the case does not exist.
    bare = requests.get(f"{stack.api_url}/complaints/{complaint_id}", timeout=10)
    wrong = requests.get(f"{stack.api_url}/complaints/{complaint_id}?code=AAAA-AAAA-AAAA-AAAA", timeout=10)
    assert bare.status_code == wrong.status_code == 404

    # Ops find the execution by ticket id; its history shows each handler ran, in order, and the case
    # now waiting for its investigator.
    view = wait_for_status(stack, accepted, "INVESTIGATING")
    sfn = stack.client("stepfunctions")
    execution = sfn.describe_execution(executionArn=stack.execution_arn(complaint_id))
    assert execution["name"] == complaint_id
    assert execution["status"] == "RUNNING"
    events = wait_for(
        lambda: (
            (found := history(stack, complaint_id))
            and "Wait for investigator" in states_entered(found)
            and found
        ),
        what="the wait for the investigator",
    )
    assert states_entered(events) == [
        "Start or resume?",
        "Send acknowledgement",
        "Triage complaint",
        "Duplicate of an open case?",
        "Watch for spikes",
        "Gather evidence",
        "Set investigation clocks",
        "Wait for investigator",
    ]
    outputs = [
        json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]
        for e in events
        if e["type"] == "TaskSucceeded"
    ]
    assert bool(outputs[0].get("acknowledgedAt"))
    assert outputs[1]["category"] == "payments"
    assert outputs[2]["count"] >= 1
    assert outputs[3]["items"] >= 1  # the ledger record of TX-20261119-001

    # The complainant's status page shows the triage.
    assert view["timeline"][0]["type"] == "RECEIVED"
    assert {"RECEIVED", "WORKFLOW_STARTED", "ACKNOWLEDGED", "TRIAGED", "EVIDENCE_GATHERED"} <= {
        e["type"] for e in view["timeline"]
    }
    assert "受理" in view["timeline"][0]["detail"]
    assert view["category"] == "payments"
    assert view["department"] == "finance"
    assert view["priority"] and view["assignee"] and view["firstResponseDueAt"] and view["resolutionDueAt"]

    # The case is in DynamoDB, readable with a plain query.
    items = stack.client("dynamodb").query(
        TableName="CasesTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CASE#{complaint_id}"}},
    )["Items"]
    assert {item["sk"]["S"].split("#")[0] for item in items} == {"CASE", "EVENT", "EVIDENCE"}


def test_the_html_form_works_as_a_browser_uses_it(stack: Stack):
    # The stack's root sends the browser to the form, under the API's stage, as API Gateway serves it.
    form_page = requests.get(f"{stack.base_url}/", headers={"Accept": "text/html"}, timeout=10)
    assert form_page.status_code == 200
    assert form_page.url == f"{stack.api_url}/"
    action = re.search(r'<form method="post" action="([^"]+)"', form_page.text).group(1)
    assert action == f"{urlsplit(stack.api_url).path}/complaints"
    email = unique_email("sam")

    answer = requests.post(
        urljoin(form_page.url, action),
        data={"name": "Sam Taylor", "email": email, "description": "My account was frozen without notice."},
        headers={"Accept": "text/html,application/xhtml+xml"},
        timeout=10,
    )

    assert answer.status_code == 202
    assert "text/html" in answer.headers["Content-Type"]
    complaint_id = re.search(r"CMP-\d{8}-[0-9A-Z]{6}", answer.text).group(0)
    ack = wait_for_email(stack, email, complaint_id)
    assert "We received your complaint" in ack["subject"]
    page = requests.get(ack["links"][0], headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert complaint_id in page.text


def test_the_api_lives_under_its_stage_as_on_api_gateway(stack: Stack):
    stage = urlsplit(stack.api_url).path.strip("/")
    assert stage == "prod"
    document = {"customer": {"email": unique_email("nostage")}, "description": "Withdrawal missing."}
    for method, path in (("POST", "/complaints"), ("GET", "/swagger"), ("GET", "/ops"), ("GET", "/tasks/x")):
        answer = requests.request(method, f"{stack.base_url}{path}", json=document, timeout=10)
        assert answer.status_code == 403, path
        assert answer.json() == {"message": "Missing Authentication Token"}
    assert requests.get(f"{stack.api_url}/nowhere", timeout=10).status_code == 403
    swagger = requests.get(f"{stack.api_url}/swagger?format=json", timeout=10)
    assert swagger.status_code == 200
    assert "/complaints" in swagger.json()["paths"]


def test_bad_input_is_refused_over_http(stack: Stack):
    url = f"{stack.api_url}/complaints"
    assert (
        requests.post(url, data="{oops", headers={"Content-Type": "application/json"}, timeout=10).status_code
        == 400
    )
    assert (
        requests.post(url, data="hi", headers={"Content-Type": "text/plain"}, timeout=10).status_code == 415
    )
    big = json.dumps({"customer": {"email": "a@example.com"}, "description": "x" * 70_000})
    assert (
        requests.post(url, data=big, headers={"Content-Type": "application/json"}, timeout=10).status_code
        == 413
    )
    missing = requests.post(url, json={"description": "no email"}, timeout=10)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["customer"]


def test_concurrent_duplicates_make_one_case_and_one_execution(stack: Stack):
    email = unique_email("burst")
    document = {"customer": {"email": email}, "description": "Bet settled as lost although my team won."}

    def post(i: int):
        headers = {"Idempotency-Key": f"burst-{email}"} if i % 2 else {}
        return requests.post(f"{stack.api_url}/complaints", json=document, headers=headers, timeout=20)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(8)))

    assert {a.status_code for a in answers} == {202}
    keyed = {a.json()["complaintId"] for i, a in enumerate(answers) if i % 2}
    unkeyed = {a.json()["complaintId"] for i, a in enumerate(answers) if not i % 2}
    assert len(keyed) == 1
    assert len(unkeyed) == 1
    sfn = stack.client("stepfunctions")
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]]
    for complaint_id in keyed | unkeyed:
        assert names.count(complaint_id) == 1
    # One acknowledgement per case, not one per request.
    cases = keyed | unkeyed
    acks = wait_for(
        lambda: (
            (found := [m for m in stack.mailbox() if email in m["to"] and "received" in m["subject"]])
            and len(found) >= len(cases)
            and found
        ),
        what="acknowledgements",
    )
    assert sorted(next(c for c in cases if c in m["subject"]) for m in acks) == sorted(cases)


def test_a_failing_step_leaves_the_case_visibly_needing_attention(stack: Stack):
    ses = stack.client("sesv2")
    ses.delete_email_identity(EmailIdentity="complaints@example.com")  # a broken mail setup
    try:
        answer = requests.post(
            f"{stack.api_url}/complaints",
            json={
                "customer": {"email": unique_email("ops.case")},
                "description": "Promotion bonus never paid.",
            },
            timeout=10,
        )
        accepted = answer.json()
        execution = wait_for_execution_end(stack, accepted["complaintId"])
    finally:
        ses.create_email_identity(EmailIdentity="complaints@example.com")

    assert execution["status"] == "FAILED"
    events = history(stack, accepted["complaintId"])
    assert states_entered(events) == [
        "Start or resume?",
        "Send acknowledgement",
        "Acknowledgement failed",
        "Record failure",
        "Needs attention",
    ]
    view = requests.get(accepted["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()
    assert view["status"] == "NEEDS_ATTENTION"
    assert view["timeline"][-1]["type"] == "NEEDS_ATTENTION"
    assert "MailRejected" in view["timeline"][-1]["detail"]


def test_the_mailbox_is_a_page_too(stack: Stack):
    page = requests.get(f"{stack.base_url}/_local/mailbox", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "Local mailbox" in page.text


def test_a_second_stack_on_the_same_ports_says_the_port_is_taken(stack: Stack):
    env = {"PORT": str(stack.port), "AWS_PORT": str(stack.aws_port), "PATH": "/usr/bin:/bin"}
    second = subprocess.run(
        [sys.executable, "-m", "infra"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1
    assert f"Port {stack.aws_port}" in second.stderr
    assert "taken" in second.stderr


def test_no_address_phone_or_access_code_reaches_the_logs(stack: Stack):
    email, phone = unique_email("private.person"), "+44 7700 900123"
    accepted = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"name": "Private Person", "email": email, "phone": phone},
            "description": "Rude agent.",
        },
        timeout=10,
    ).json()
    wait_for_email(stack, email, accepted["complaintId"])
    requests.get(accepted["statusUrl"], timeout=10)
    requests.post(
        f"{stack.api_url}/complaints", json={"customer": {"email": email, "phone": phone}}, timeout=10
    )
    wait_for(lambda: accepted["complaintId"] in stack.logs(), what="the case in the logs")

    logs = stack.logs()
    for secret in (email, phone, accepted["accessCode"], "Private Person"):
        assert secret not in logs, secret


def test_a_repeat_of_an_open_complaint_is_linked_and_the_customer_told(stack: Stack):
    email = unique_email("twice")
    first = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": email},
            "description": "Order OD-1 was charged twice.",
            "references": {"orderId": "OD-1"},
        },
        timeout=10,
    ).json()
    wait_for_status(stack, first, "INVESTIGATING")
    second = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": email},
            "description": "Still no refund for the double charge.",
            "references": {"orderId": "OD-1"},
        },
        timeout=10,
    ).json()

    execution = wait_for_execution_end(stack, second["complaintId"])

    assert execution["status"] == "SUCCEEDED"
    assert states_entered(history(stack, second["complaintId"]))[-2:] == [
        "Duplicate of an open case?",
        "Linked to the earlier case",
    ]
    view = requests.get(second["statusUrl"], headers={"Accept": "application/json"}, timeout=10).json()
    assert view["status"] == "RELATED"
    assert view["relatedTo"] == first["complaintId"]
    notice = wait_for_email(stack, email, "linked")
    assert first["complaintId"] in notice["text"]


def test_a_burst_of_complaints_in_one_category_alerts_ops_once(stack: Stack):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    if now.minute == 59 and now.second > 30:  # keep the burst inside one hour bucket
        time.sleep(61 - now.second)
    accepted = []
    for n in range(12):
        accepted.append(
            requests.post(
                f"{stack.api_url}/complaints",
                json={
                    "customer": {"email": unique_email(f"fair{n}")},
                    "description": f"The game is rigged, the RNG is not fair (round {n}).",
                },
                timeout=10,
            ).json()
        )
    for case in accepted:
        wait_for_status(stack, case, "INVESTIGATING", "NEEDS_ATTENTION", "AWAITING_APPROVAL")

    alerts = [m for m in stack.mailbox() if "Spike" in m["subject"] and "'fairness'" in m["subject"]]
    assert len(alerts) == 1
    assert alerts[0]["to"] == ["ops@example.com"]


def test_finance_cases_are_shared_evenly_across_the_finance_team(stack: Stack):
    dynamodb = stack.client("dynamodb")

    def loads() -> dict[str, int]:
        items = dynamodb.query(
            TableName="CasesTable",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "ROSTER#finance"}},
        )["Items"]
        return {item["sk"]["S"]: int(item["open_cases"]["N"]) for item in items}

    before = sum(loads().values())
    for n in range(4):
        accepted = requests.post(
            f"{stack.api_url}/complaints",
            json={
                "customer": {"email": unique_email(f"fin{n}")},
                "description": f"Withdrawal {n} never arrived.",
            },
            timeout=10,
        ).json()
        wait_for_status(stack, accepted, "INVESTIGATING", "NEEDS_ATTENTION", "AWAITING_APPROVAL")

    after = loads()
    assert sum(after.values()) == before + 4
    assert len(after) == 3  # every finance investigator has cases
    assert max(after.values()) - min(after.values()) <= 1
