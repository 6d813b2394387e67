"""The Step Functions task handlers and the reconciler, on moto."""

from __future__ import annotations

import json

import pytest

from complaints.intake.contracts import AcknowledgeRequest
from complaints.investigation.contracts import Gather, SetClocks
from complaints.supervision.contracts import FailureRequest
from complaints.triage.contracts import SpikeRequest, TriageRequest
from infra import moto_hooks
from infra.lambdas import HandlerError
from tests.integration.conftest import BASE_URL, Aws

COMPLAINT = {
    "customer": {"name": "陈静", "email": "chen.jing@example.com", "phone": "13800138000", "locale": "zh-CN"},
    "description": "投注结算错误，赢了却显示输",
    "references": {"betId": "B-9931"},
}


def submit(aws: Aws) -> dict:
    answer = aws.http.post("/complaints", json=COMPLAINT)
    assert answer.status_code == 202
    return answer.get_json()


def test_acknowledgement_is_sent_once_in_the_customers_language(aws: Aws):
    accepted = submit(aws)
    complaint_id = accepted["complaintId"]

    result = aws.invoke("AcknowledgeFunction", {"complaintId": complaint_id})
    again = aws.invoke("AcknowledgeFunction", {"complaintId": complaint_id})

    assert result["complaintId"] == complaint_id
    assert again["acknowledgedAt"] == result["acknowledgedAt"]
    (email,) = aws.sent_emails()
    assert email["to"] == ["chen.jing@example.com"]
    assert complaint_id in email["subject"]
    assert "我们已收到您的投诉" in email["subject"]
    assert accepted["statusUrl"] in email["links"]
    assert "最终答复" in email["text"]
    case = aws.case(complaint_id)
    assert "pending_access_code" not in case  # the clear code is gone once it has been mailed
    assert "acknowledged_at" in case
    assert sorted(e["type"] for e in aws.items("event")) == ["ACKNOWLEDGED", "RECEIVED", "WORKFLOW_STARTED"]


def test_acknowledging_an_unknown_case_raises_a_typed_error(aws: Aws):
    with pytest.raises(HandlerError) as raised:
        aws.invoke("AcknowledgeFunction", {"complaintId": "CMP-20260101-AAAAAA"})
    assert raised.value.payload["errorType"] == "CaseNotFound"


def test_a_refused_email_raises_mail_rejected_for_the_state_machine(aws: Aws):
    accepted = submit(aws)
    aws.client("sesv2").delete_email_identity(EmailIdentity="complaints@example.com")
    with pytest.raises(HandlerError) as raised:
        aws.invoke("AcknowledgeFunction", {"complaintId": accepted["complaintId"]})
    assert raised.value.payload["errorType"] == "MailRejected"
    assert "acknowledged_at" not in aws.case(accepted["complaintId"])


def test_record_failure_sets_needs_attention_and_alerts_ops(aws: Aws):
    accepted = submit(aws)
    complaint_id = accepted["complaintId"]
    failure = {
        "complaintId": complaint_id,
        "state": "Send acknowledgement",
        "execution": f"arn:aws:states:us-east-1:123456789012:execution:m:{complaint_id}",
        "error": {"Error": "MailRejected", "Cause": json.dumps({"errorMessage": "SES MessageRejected"})},
    }

    result = aws.invoke("RecordFailureFunction", failure)
    aws.invoke("RecordFailureFunction", failure)  # a retried task changes nothing more

    assert result["status"] == "NEEDS_ATTENTION"
    case = aws.case(complaint_id)
    assert case["status"] == "NEEDS_ATTENTION"
    assert case["attention_reason"] == "MailRejected in 'Send acknowledgement'"
    view = aws.http.get(
        f"/complaints/{complaint_id}", query_string={"code": accepted["accessCode"]}
    ).get_json()
    assert view["status"] == "NEEDS_ATTENTION"
    assert view["timeline"][-1]["type"] == "NEEDS_ATTENTION"
    assert "MailRejected" in view["timeline"][-1]["detail"]
    alerts = [m for m in aws.sent_emails() if m["to"] == ["ops@example.com"]]
    assert alerts
    assert complaint_id in alerts[0]["subject"]
    assert "SES MessageRejected" in alerts[0]["text"]
    assert "chen.jing@example.com" not in alerts[0]["text"]


def test_start_execution_failure_loses_nothing_and_the_reconciler_starts_it(aws: Aws):
    intake = aws.runtimes["IntakeApiFunction"]
    intake.env["STATE_MACHINE_ARN"] = aws.state_machine_arn + "-missing"  # StartExecution will fail

    with moto_hooks.unrecorded():  # a refusal on purpose (its role allows only the real state machine)
        answer = aws.http.post("/complaints", json=COMPLAINT)

    assert answer.status_code == 202
    complaint_id = answer.get_json()["complaintId"]
    case = aws.case(complaint_id)
    assert case["status"] == "RECEIVED"
    assert "execution_arn" not in case
    assert case["gsi1pk"] == "UNSTARTED"
    assert aws.executions() == []

    first = aws.invoke("ReconcileFunction", {})
    second = aws.invoke("ReconcileFunction", {})

    assert first == {"started": [complaint_id], "failed": []}
    assert second == {"started": [], "failed": []}
    (execution,) = aws.executions()
    assert execution["name"] == complaint_id
    case = aws.case(complaint_id)
    assert case["execution_arn"] == execution["executionArn"]
    assert "gsi1pk" not in case


def test_reconciler_accepts_an_execution_that_already_exists(aws: Aws):
    intake = aws.runtimes["IntakeApiFunction"]
    intake.env["STATE_MACHINE_ARN"] = aws.state_machine_arn + "-missing"
    with moto_hooks.unrecorded():  # a refusal on purpose
        complaint_id = aws.http.post("/complaints", json=COMPLAINT).get_json()["complaintId"]
    # The execution got started after all (say, a retry that timed out on our side but reached AWS).
    aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.state_machine_arn,
        name=complaint_id,
        input=json.dumps({"complaintId": complaint_id}),
    )

    report = aws.invoke("ReconcileFunction", {})

    assert report["started"] == [complaint_id]
    assert len(aws.executions()) == 1
    assert aws.case(complaint_id)["execution_arn"].endswith(f":{complaint_id}")


def test_no_address_phone_code_or_token_reaches_the_logs(aws: Aws, logs, capsys):
    accepted = submit(aws)
    complaint_id = accepted["complaintId"]
    aws.http.get(f"/complaints/{complaint_id}", query_string={"code": accepted["accessCode"]})
    aws.http.get(f"/complaints/{complaint_id}", query_string={"code": "WRONG-CODE"})
    aws.http.post("/complaints", json={**COMPLAINT, "customer": {"email": "bad@", "phone": "13800138000"}})
    aws.invoke("AcknowledgeFunction", {"complaintId": complaint_id})
    aws.invoke(
        "RecordFailureFunction",
        {
            "complaintId": complaint_id,
            "state": "Send acknowledgement",
            "error": {"Error": "TaskTimedOut", "Cause": "token AAAAQ+/=secret-task-token"},
        },
    )

    written = logs.getvalue() + capsys.readouterr().out
    assert complaint_id in written  # the logs are there, and correlated by ticket id
    for secret in (
        "chen.jing@example.com",
        "bad@",
        "13800138000",
        accepted["accessCode"],
        "WRONG-CODE",
        "陈静",
        "secret-task-token",
        BASE_URL + "/complaints",
    ):
        assert secret not in written, secret


def test_the_acknowledgement_states_the_payments_deadline_for_a_payment_complaint(aws: Aws):
    from datetime import datetime, timedelta

    from complaints.core.calendar import load_policy

    payment = aws.http.post(
        "/complaints",
        json={
            "customer": {"email": "pay@example.com"},
            "description": "My withdrawal has not arrived for 5 days.",
        },
    ).get_json()
    general = aws.http.post(
        "/complaints", json={"customer": {"email": "gen@example.com"}, "description": "I have a question."}
    ).get_json()
    for accepted in (payment, general):
        aws.invoke("AcknowledgeFunction", {"complaintId": accepted["complaintId"]})

    policy = load_policy()
    for accepted, category in ((payment, "payments"), (general, None)):
        case = aws.case(accepted["complaintId"])
        created = datetime.fromisoformat(case["created_at"])
        due = policy.response_due(created, category)
        assert datetime.fromisoformat(case["response_due_at"]) == due
        (email,) = [m for m in aws.sent_emails() if accepted["complaintId"] in m["subject"]]
        assert due.astimezone(policy.calendar.zone).strftime("%Y-%m-%d") in email["text"]
    assert datetime.fromisoformat(aws.case(payment["complaintId"])["response_due_at"]) < created + timedelta(
        weeks=4
    )


def test_the_reported_spam_relay_is_closed(aws: Aws):
    """Seven anonymous complaints naming someone else's address, with a sales pitch for a name: five
    acknowledgements reach the address, greeting "Dear customer"; the rest are withheld, the cases kept."""
    victim = "victim@example.org"
    spam = {"email": victim, "name": "Winner! Claim your prize at http://evil.example/claim"}
    accepted = []
    for n in range(7):
        answer = aws.http.post("/complaints", json={"customer": spam, "description": f"Prize {n}."})
        assert answer.status_code == 202
        accepted.append(answer.get_json())

    results = [aws.invoke("AcknowledgeFunction", {"complaintId": a["complaintId"]}) for a in accepted]

    emails = [m for m in aws.sent_emails() if m["to"] == [victim]]
    assert len(emails) == 5
    for email in emails:
        for part in (email["text"], email["html"]):
            assert "Dear customer," in part
            assert "evil" not in part and "Winner" not in part
        assert not any("evil" in link for link in email["links"])
    withheld = aws.case(accepted[6]["complaintId"])
    assert "ack_suppressed_at" in withheld and "acknowledged_at" not in withheld
    assert "pending_access_code" not in withheld
    assert results[6]["acknowledgedAt"] == withheld["ack_suppressed_at"]
    status = aws.http.get(f"/complaints/{accepted[6]['complaintId']}?code={accepted[6]['accessCode']}")
    assert status.get_json()["timeline"][-1]["type"] == "ACK_WITHHELD"
    (counter,) = aws.items("mail_counter")
    assert counter["sent"] == 5
    assert victim not in json.dumps(counter, default=str)


def test_the_first_tasks_answer_exactly_their_result_models(aws: Aws):
    """What each function gives Step Functions is its request's Result model, key for key (the ASL's
    ResultSelectors are checked against those models in tests/deploy/test_asl_dataflow.py)."""
    complaint_id = submit(aws)["complaintId"]
    steps = [
        ("AcknowledgeFunction", AcknowledgeRequest, {"complaintId": complaint_id}),
        ("TriageFunction", TriageRequest, {"complaintId": complaint_id}),
        ("SpikeWatchFunction", SpikeRequest, {"complaintId": complaint_id}),
        ("InvestigationFunction", Gather, {"step": "gather", "complaintId": complaint_id}),
        ("InvestigationFunction", SetClocks, {"step": "clocks", "complaintId": complaint_id}),
        ("RecordFailureFunction", FailureRequest, {"complaintId": complaint_id, "state": "Gather evidence"}),
    ]
    for function, request, event in steps:
        answer = aws.invoke(function, event)

        assert answer == request.Result.model_validate(answer).model_dump(mode="json"), function
