"""The installed `complaints` command against the running embedded stack, as ops would use it: every
command, and the errors people make (a wrong id, no stack, no credentials).

Over 400 lines: one test per command and its errors, each short, sharing the helpers that run the
installed command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack
from tests.sigv4_gateway import CONSOLE_HTML, SigV4Gateway
from tests.support.driver import (
    free_port,
    investigator_link,
    submit_complaint,
    submit_payment_complaint,
    wait_for,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(cli_stack: Stack) -> Stack:
    """These tests drive their own stack (see cli_stack)."""
    return cli_stack


COMPLAINTS = Path(sys.executable).parent / "complaints"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def environment_for(stack: Stack | None, env: dict[str, str] | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COMPLAINTS_"))}
    environment |= {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    if stack is not None:
        environment["COMPLAINTS_LOCAL_URL"] = stack.base_url
    return environment | (env or {})


def run(stack: Stack | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = environment_for(stack, env)
    return subprocess.run(
        [str(COMPLAINTS), *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def ok(stack: Stack, *args: str) -> str:
    done = run(stack, "--local", *args)
    assert done.returncode == 0, f"complaints {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def submit_hacked_account(stack: Stack) -> dict:
    """A security complaint: always P1, so its 4-hour resolution target passes within seconds here."""
    return submit_complaint(
        stack,
        {
            "customer": {"email": f"victim.{uuid.uuid4().hex[:8]}@example.com"},
            "description": "Someone hacked my account and stole my balance; I made no such withdrawals.",
        },
    )


# ---------------------------------------------------------------- submit and status


def test_submit_files_a_complaint_that_status_then_shows_with_its_execution(stack):
    submitted = ok(
        stack,
        "submit",
        "--email",
        f"cli.{uuid.uuid4().hex[:8]}@example.com",
        "--description",
        "My withdrawal of 150 CNY has not arrived after three days.",
        "--amount",
        "150.00",
        "--ref",
        "transactionId=TX-20261119-001",
    )
    line = next(line for line in submitted.splitlines() if line.startswith("Complaint "))
    complaint_id = line.split()[1]
    assert complaint_id.startswith("CMP-") and "received" in line
    assert "Access code" in submitted and f"/complaints/{complaint_id}?code=" in submitted.replace("\n", "")

    wait_for(
        lambda: "INVESTIGATING" in ok(stack, "status", complaint_id), what="the case under investigation"
    )
    shown = ok(stack, "status", complaint_id.lower())  # ids are read case-insensitively
    assert f"{complaint_id}  INVESTIGATING" in shown
    assert "payments" in shown and "finance" in shown
    assert "Wait for investigator" in shown  # its execution's current state
    assert "Acknowledgement sent by email." in shown  # the timeline, in words


def test_submit_refused_by_intake_names_the_bad_field_and_exits_1(stack):
    done = run(stack, "--local", "submit", "--email", "not-an-address", "--description", "x")
    assert done.returncode == 1
    assert "refused" in done.stderr and "customer.email" in done.stderr


def test_submit_by_phone_goes_through_the_ops_route_with_the_token_and_status_shows_who(stack):
    filed = run(
        stack,
        "--local",
        "submit",
        "--channel",
        "phone",
        "--email",
        f"caller.{uuid.uuid4().hex[:8]}@example.com",
        "--description",
        "My deposit of 200 CNY never reached my balance.",
        env={"OPS_TOKEN": stack.ops_token},
    )
    assert filed.returncode == 0, filed.stderr
    line = next(line for line in filed.stdout.splitlines() if line.startswith("Complaint "))
    complaint_id = line.split()[1]
    assert "Filed by you for the customer (phone)" in filed.stdout

    shown = ok(stack, "status", complaint_id)
    assert re.search(r"Filed by\s+arn:aws:iam::123456789012:user/local-ops", shown), shown
    assert "Complaint received by phone with our agent." in shown


def test_status_of_an_unknown_case_says_so_and_exits_1(stack):
    done = run(stack, "--local", "status", "CMP-20000101-NOPE00")
    assert done.returncode == 1
    assert "no complaint CMP-20000101-NOPE00" in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- queues


def test_queue_shows_open_cases_with_countdowns_and_overdue_filters_them(stack):
    urgent = submit_hacked_account(stack)
    calm = submit_payment_complaint(stack)
    wait_for_status(stack, urgent, "INVESTIGATING")
    wait_for_status(stack, calm, "INVESTIGATING")

    everything = ok(stack, "queue")
    row = next(line for line in everything.splitlines() if calm["complaintId"] in line)
    assert "finance" in row and "P3" in row and ("left" in row or "OVERDUE" in row)

    # P1's 4 policy hours last 4 s at 3,600 policy seconds per second.
    overdue = wait_for(
        lambda: (out := ok(stack, "queue", "--overdue")) and urgent["complaintId"] in out and out,
        what="the P1 case to be overdue",
    )
    assert calm["complaintId"] not in overdue
    row = next(line for line in overdue.splitlines() if urgent["complaintId"] in line)
    assert "P1" in row and "OVERDUE by" in row

    only_p3 = ok(stack, "queue", "--department", "finance", "--priority", "p3")
    assert calm["complaintId"] in only_p3 and urgent["complaintId"] not in only_p3


def test_queue_of_an_unknown_department_lists_the_real_ones_and_exits_2(stack):
    done = run(stack, "--local", "queue", "--department", "marketing")
    assert done.returncode == 2
    assert "no department 'marketing'" in done.stderr and "finance" in done.stderr


def test_approvals_lists_a_remedy_waiting_with_its_level_and_age(stack):
    accepted = submit_payment_complaint(stack)
    link, _ = investigator_link(stack, accepted)
    findings = {
        "summary": "The bank returned the payout.",
        "remedy": "refund",
        "rootCause": "payment_processing",
        "amount": "500.00",  # above 100: the supervisor approves
        "currency": "CNY",
        "customerMessage": "We will refund the withdrawal.",
    }
    assert requests.post(link, data=findings, timeout=10).status_code == 200
    wait_for_status(stack, accepted, "AWAITING_APPROVAL")

    listed = wait_for(
        lambda: (out := ok(stack, "approvals")) and accepted["complaintId"] in out and out,
        what="the approval in the list",
    )
    row = next(line for line in listed.splitlines() if accepted["complaintId"] in line)
    assert "supervisor" in row and "0 of 2" in row and "finance" in row


def test_executions_lists_states_and_filters_by_status(stack):
    accepted = submit_payment_complaint(stack)
    wait_for_status(stack, accepted, "INVESTIGATING")
    running = ok(stack, "executions", "--status", "running", "--limit", "100")
    row = next(line for line in running.splitlines() if accepted["complaintId"] in line)
    assert "RUNNING" in row and "Wait for investigator" in row
    assert "SUCCEEDED" not in running

    wrong = run(stack, "--local", "executions", "--status", "SLEEPING")
    assert wrong.returncode == 2 and "status is one of" in wrong.stderr


# ---------------------------------------------------------------- retry


def test_retry_resumes_a_case_that_needs_attention_once(stack):
    accepted = submit_hacked_account(stack)
    complaint_id = accepted["complaintId"]
    not_yet = wait_for_status(stack, accepted, "INVESTIGATING")
    refused = run(stack, "--local", "retry", complaint_id)
    assert refused.returncode == 1 and f"is {not_yet['status']}, not NEEDS_ATTENTION" in refused.stderr

    # Nobody answers: reminder, lead, head, then NEEDS_ATTENTION (about 12 s at this clock).
    wait_for(
        lambda: "NEEDS_ATTENTION" in ok(stack, "status", complaint_id), timeout=60, what="NEEDS_ATTENTION"
    )
    retried = ok(stack, "retry", complaint_id)
    assert f"Case {complaint_id} resumed at INVESTIGATING: execution {complaint_id}-retry-1." in retried

    shown = wait_for(
        lambda: (out := ok(stack, "status", complaint_id)) and "Wait for investigator" in out and out,
        what="the retried execution waiting for the investigator",
    )
    assert f"{complaint_id}  INVESTIGATING" in shown
    assert f"{complaint_id}-retry-1" in shown and "Our team resumed handling the case." in shown
    again = run(stack, "--local", "retry", complaint_id)
    assert again.returncode == 1 and "not NEEDS_ATTENTION" in again.stderr


# ---------------------------------------------------------------- report and simulate


def test_simulate_then_report_prints_the_figures_and_writes_the_charts(stack, tmp_path):
    simulated = ok(stack, "simulate", "6", "--seed", "7")
    assert re.search(r"Submitted 6 complaint\(s\) in \d+ s; 0 refused\.", simulated), simulated

    charts = tmp_path / "charts"
    report = wait_for(
        lambda: (out := ok(stack, "report", "--days", "2", "--charts", str(charts))) and out,
        what="the report",
    )
    for title in ("Volume", "By category", "By channel", "SLA compliance", "Time to resolve", "Remedies"):
        assert title in report
    for title in ("Customer satisfaction", "Escalations", "Top recurring causes"):
        assert title in report
    received = next(line for line in report.splitlines() if "Received" in line and "│" in line)
    assert int(received.split("│")[2]) >= 6
    pngs = sorted(charts.glob("*.png"))
    assert len(pngs) == 8
    assert all(png.read_bytes().startswith(PNG_SIGNATURE) for png in pngs)
    page = (charts / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 8 and "By category" in page


def test_report_with_a_bad_date_exits_2(stack):
    done = run(stack, "--local", "report", "--from", "yesterday")
    assert done.returncode == 2
    assert "Invalid isoformat" in done.stderr or "yesterday" in done.stderr


# ---------------------------------------------------------------- no stack, no credentials


def test_no_embedded_stack_running_says_how_to_start_one():
    url = f"http://127.0.0.1:{free_port()}"
    done = run(None, "--local", "--local-url", url, "queue")
    assert done.returncode == 2
    assert f"No embedded stack answers at {url}" in done.stderr and "make run" in done.stderr


def test_no_aws_credentials_says_so(tmp_path):
    done = run(
        None,
        "queue",
        env={
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert done.returncode == 2
    assert "No AWS credentials found" in done.stderr


def test_a_stack_that_does_not_exist_is_named(stack, tmp_path):
    # CloudFormation answered by the local AWS endpoint, which has no stack of that name.
    done = run(
        None,
        "--stack",
        "complaints-prod",
        "--region",
        "us-east-1",
        "status",
        "CMP-20261123-ABC123",
        env={
            "AWS_ENDPOINT_URL_CLOUDFORMATION": stack.aws_endpoint,
            "AWS_ACCESS_KEY_ID": "anything",
            "AWS_SECRET_ACCESS_KEY": "anything",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
        },
    )
    assert done.returncode == 2
    assert "No stack named 'complaints-prod' in us-east-1" in done.stderr


def test_no_region_says_how_to_set_one(tmp_path):
    done = run(None, "queue", env={"AWS_CONFIG_FILE": str(tmp_path / "none")})
    assert done.returncode == 2
    assert "No AWS region set. Pass --region or set AWS_DEFAULT_REGION." in done.stderr


def test_simulate_act_plays_the_people_until_the_cases_finish(stack):
    done = ok(stack, "simulate", "3", "--seed", "11", "--act", "--timeout", "90")
    assert re.search(r"Submitted 3 complaint\(s\) in \d+ s; 0 refused\.", done), done
    assert re.search(r"Finished 3 of 3 in \d+ s:", done.replace("\n", " ")), done
    assert "'findings': " in done  # the investigators answered through their email links


# ---------------------------------------------------------------- console


def test_console_serves_the_deployed_stacks_ops_pages_signed_until_ctrl_c(stack, tmp_path):
    """`complaints console` against a "deployed" stack: CloudFormation (the local AWS endpoint) names
    an API whose stand-in verifies every SigV4 signature, as API Gateway's AWS_IAM auth does."""
    key, secret = "AKIDEXAMPLECONSOLE02", "console-e2e-secret-0123456789abcdefghijk"
    with SigV4Gateway({key: (secret, None)}, region="us-east-1") as gateway:
        name = f"complaints-console-{uuid.uuid4().hex[:8]}"
        outputs = {
            "ApiUrl": gateway.api_url,
            "CasesTableName": "CasesTable",
            "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:complaints-case",
        }
        stack.client("cloudformation").create_stack(
            StackName=name,
            TemplateBody=json.dumps(
                {
                    "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                    "Outputs": {output: {"Value": value} for output, value in outputs.items()},
                }
            ),
        )
        environment = environment_for(
            None,
            {
                "AWS_ENDPOINT_URL_CLOUDFORMATION": stack.aws_endpoint,
                "AWS_ACCESS_KEY_ID": key,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "PYTHONUNBUFFERED": "1",
            },
        )
        command = [str(COMPLAINTS), "--stack", name, "--region", "us-east-1"]
        process = subprocess.Popen(
            [*command, "console", "--port", "0", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        printed: list[str] = []
        reader = threading.Thread(target=lambda: printed.extend(process.stdout), daemon=True)
        reader.start()
        try:
            url = wait_for(
                lambda: next(iter(re.findall(r"http://127\.0\.0\.1:\d+/prod/ops", "".join(printed))), None),
                what="the console's address",
            )
            page = requests.get(url, timeout=10)
            assert page.status_code == 200 and page.text == CONSOLE_HTML
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            elsewhere = requests.get(url.replace("/prod/ops", "/prod/complaints"), timeout=10)
            assert elsewhere.status_code == 404
            assert requests.post(f"{url}/api/queue", timeout=10).status_code == 405
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
            reader.join(timeout=5)
        errors = process.stderr.read()
        assert code == 0, errors
        assert "Stopped." in "".join(printed)
        assert [(seen.path, seen.refused) for seen in gateway.seen] == [("/prod/ops", None)]
        assert "GET /prod/ops 200" in errors and "Traceback" not in errors


def test_console_for_the_embedded_stack_points_to_the_banner_link(stack):
    shown = ok(stack, "console", "--no-browser")
    assert "banner prints the ops console link (with its token)" in shown
    assert f"{stack.base_url}/ops?token=" in shown


def test_console_without_credentials_says_so(tmp_path):
    done = run(
        None,
        "--region",
        "eu-west-1",
        "console",
        "--no-browser",
        env={
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert done.returncode == 2
    assert "No AWS credentials found" in done.stderr and "Traceback" not in done.stderr
