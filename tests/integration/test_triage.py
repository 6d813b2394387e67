"""The triage stage's handlers on moto: classification, priority, routing, SLA clocks, duplicates, spikes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3

from complaints.adapters.dynamo.repositories import DynamoTriageRepository
from complaints.core.models import Status
from complaints.core.rules import load_triage_policy
from tests.integration.conftest import Aws
from tests.support.cases import store_case


def submit(aws: Aws, description: str, email: str = "li.wei@example.com", **extra) -> dict:
    document = {
        "customer": {"email": email, **extra.pop("customer", {})},
        "description": description,
        **extra,
    }
    answer = aws.http.post("/complaints", json=document)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()


def triage(aws: Aws, accepted: dict) -> dict:
    return aws.invoke("TriageFunction", {"complaintId": accepted["complaintId"]})


def status(aws: Aws, accepted: dict) -> dict:
    answer = aws.http.get(
        f"/complaints/{accepted['complaintId']}", query_string={"code": accepted["accessCode"]}
    )
    assert answer.status_code == 200
    return answer.get_json()


def test_a_payment_complaint_is_classified_prioritised_routed_and_clocked(aws: Aws):
    accepted = submit(
        aws,
        "我三天前提现1500元，到现在还没到账。",
        customer={"locale": "zh-CN"},
        amount={"value": "1500.00", "currency": "CNY"},
    )

    result = triage(aws, accepted)

    assert result["outcome"] == "TRIAGED"
    assert result["category"] == "payments"
    view = status(aws, accepted)
    assert view["status"] == "TRIAGED"
    assert view["category"] == "payments"
    assert 0 < view["confidence"] <= 1
    assert any("提现" in phrase for phrase in view["evidence"])
    reasons = {part["reason"]: part["points"] for part in view["priorityBreakdown"]}
    assert reasons["category"] == 25
    assert reasons["amount"] == 25  # 1500 reaches the >= 1000 step
    assert view["priority"] == "P2"  # 50 points
    assert view["department"] == "finance"
    finance = {p.name for p in load_triage_policy().roster["finance"].investigators}
    assert view["assignee"] in finance
    created = datetime.fromisoformat(view["createdAt"])
    assert (
        created
        < datetime.fromisoformat(view["firstResponseDueAt"])
        < datetime.fromisoformat(view["resolutionDueAt"])
    )
    # Payment complaints: 15 business days, so well under the general 8 weeks.
    assert datetime.fromisoformat(view["responseDueAt"]) < created + timedelta(days=30)
    triaged = view["timeline"][-1]
    assert triaged["type"] == "TRIAGED"
    # In the complainant's language: the category and department by name, with the evidence and clocks.
    for shown in ("充值与提现", "财务结算部", "P2", view["assignee"], "提现", "首次回复期限"):
        assert shown in triaged["detail"]


def test_security_incidents_are_p1_whatever_the_score(aws: Aws):
    accepted = submit(aws, "Someone logged into my account without permission and stole my funds.")
    triage(aws, accepted)
    view = status(aws, accepted)
    assert view["category"] == "security"
    assert view["priority"] == "P1"
    assert view["department"] == "risk-control"
    # P1 runs around the clock: its resolution is due within 4 hours of the complaint.
    due = datetime.fromisoformat(view["resolutionDueAt"]) - datetime.fromisoformat(view["createdAt"])
    assert due <= timedelta(hours=4)


def test_threats_vip_and_repeat_complaints_raise_priority(aws: Aws):
    email = "repeat.customer@example.com"
    for text in ("My bonus was not credited after the deposit.", "The app crashes when I open my bets."):
        triage(aws, submit(aws, text, email=email))
    accepted = submit(
        aws,
        "Support never answers my messages. I will report you to the regulator and talk to my lawyer.",
        email=email,
        customer={"tier": "Gold"},
    )

    triage(aws, accepted)

    view = status(aws, accepted)
    reasons = {part["reason"] for part in view["priorityBreakdown"]}
    assert {"threat", "vip", "repeat_complainant"} <= reasons
    threat = next(p for p in view["priorityBreakdown"] if p["reason"] == "threat")
    assert "regulator" in threat["detail"]
    assert view["priority"] in ("P1", "P2")


def test_assignments_balance_across_the_department(aws: Aws):
    team = load_triage_policy().roster["finance"].investigators
    assignees = []
    for i in range(2 * len(team)):
        accepted = submit(
            aws, f"Withdrawal number {i} has not arrived in my bank account.", email=f"c{i}@example.com"
        )
        triage(aws, accepted)
        assignees.append(status(aws, accepted)["assignee"])

    assert Counter(assignees) == {person.name: 2 for person in team}
    assert assignees[: len(team)] == [person.name for person in team]  # ties go in turn


def test_retried_triage_changes_nothing(aws: Aws):
    accepted = submit(aws, "My withdrawal is stuck as pending for a week.")
    first = triage(aws, accepted)
    again = triage(aws, accepted)

    assert again == first
    loads = DynamoTriageRepository(aws.table).investigator_loads("finance")
    assert sum(open_cases for open_cases, _ in loads.values()) == 1
    assert [e["type"] for e in status(aws, accepted)["timeline"]].count("TRIAGED") == 1


def test_same_reference_within_14_days_is_linked_not_investigated_again(aws: Aws):
    first = submit(aws, "Bet settled as lost although my team won.", references={"betId": "B-77"})
    triage(aws, first)
    second = submit(
        aws,
        "Why is my winning ticket shown as a loss? Please check.",
        customer={"locale": "zh-CN"},
        references={"ticket": "b-77"},
    )

    result = triage(aws, second)

    assert result == {
        "complaintId": second["complaintId"],
        "outcome": "RELATED",
        "category": None,
        "priority": None,
        "relatedTo": first["complaintId"],
    }
    view = status(aws, second)
    assert view["status"] == "RELATED"
    assert view["relatedTo"] == first["complaintId"]
    assert view["timeline"][-1]["type"] == "LINKED"
    assert view["assignee"] is None
    (notice,) = [m for m in aws.sent_emails() if second["complaintId"] in m["subject"]]
    assert "已关联" in notice["subject"]
    assert first["complaintId"] in notice["text"]
    triage(aws, second)  # a retry sends no second notice
    assert len([m for m in aws.sent_emails() if second["complaintId"] in m["subject"]]) == 1


def test_near_identical_text_is_a_duplicate_but_another_customer_is_not(aws: Aws):
    text = "充值成功但是余额一直没有增加，订单号找不到，请尽快处理。"
    first = submit(aws, text)
    triage(aws, first)
    again = submit(aws, text + "谢谢", customer={"name": "Li"})
    other = submit(aws, text, email="someone.else@example.com")

    assert triage(aws, again)["relatedTo"] == first["complaintId"]
    assert triage(aws, other)["outcome"] == "TRIAGED"


# ------------------------------------------------------------------ spikes


def _stored_case(repo: DynamoTriageRepository, number: int, at: datetime, category: str) -> str:
    complaint_id = f"CMP-{at:%Y%m%d}-SP{number:04d}"[:19]
    store_case(
        repo,
        complaint_id,
        at,
        f"spike{number}@example.com",
        f"Deposit {number} failed",
        status=Status.TRIAGED,
        category=category,
    )
    return complaint_id


def test_one_spike_alert_per_category_per_hour_and_none_below_the_threshold(aws: Aws):
    repo = DynamoTriageRepository(aws.table)
    rules = load_triage_policy().spikes
    hour = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    ids = [_stored_case(repo, n, hour + timedelta(minutes=n), "payments") for n in range(rules.threshold + 3)]
    quiet = [
        _stored_case(repo, 100 + n, hour + timedelta(minutes=n), "technical")
        for n in range(rules.threshold - 1)
    ]

    results = [aws.invoke("SpikeWatchFunction", {"complaintId": i}) for i in ids + quiet]
    retried = aws.invoke("SpikeWatchFunction", {"complaintId": ids[rules.threshold - 1]})

    alerted = [r["complaintId"] for r in results if r["alerted"]]
    assert alerted == [ids[rules.threshold - 1]]  # the complaint that reached the threshold, once
    assert [r["count"] for r in results[: len(ids)]] == list(range(1, len(ids) + 1))
    assert retried == {"complaintId": ids[rules.threshold - 1], "count": len(ids), "alerted": False}
    (alert,) = [m for m in aws.sent_emails() if "Spike" in m["subject"]]
    assert alert["to"] == ["ops@example.com"]
    assert "payments" in alert["subject"]
    assert f"{rules.threshold} 'payments'" in alert["subject"]
    assert all(i in alert["text"] for i in ids[: rules.example_ids])
    assert "Baseline: 0.00" in alert["text"]


def test_a_spike_is_measured_against_the_trailing_average(aws: Aws):
    repo = DynamoTriageRepository(aws.table)
    rules = load_triage_policy().spikes
    hour = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    # A busy category: the previous hours averaged 8 per hour, so 10 in this hour is no spike.
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("CasesTable")
    for back in range(1, rules.trailing_hours + 1):
        bucket = (hour - timedelta(hours=back)).strftime("%Y-%m-%dT%H")
        table.put_item(Item={"pk": "SPIKE#settlement", "sk": f"HOUR#{bucket}", "complaints": 8})
    ids = [
        _stored_case(repo, 200 + n, hour + timedelta(minutes=n), "settlement") for n in range(rules.threshold)
    ]

    results = [aws.invoke("SpikeWatchFunction", {"complaintId": i}) for i in ids]

    assert not any(r["alerted"] for r in results)
    assert not [m for m in aws.sent_emails() if "Spike" in m["subject"]]


def test_the_status_page_shows_the_triage_in_the_readers_language(aws: Aws):
    accepted = submit(aws, "The app crashes every time I open the bet history page.")
    triage(aws, accepted)
    view = status(aws, accepted)

    page = aws.http.get(
        f"/complaints/{accepted['complaintId']}",
        query_string={"code": accepted["accessCode"]},
        headers={"Accept": "text/html", "Accept-Language": "zh-CN"},
    ).get_data(as_text=True)

    assert "技术支持部" in page  # the department by name, not its code
    assert view["assignee"] in page
    assert view["priority"] in page
    assert "首次回复期限" in page
