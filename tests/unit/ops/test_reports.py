"""The management report from the daily counters, on a small data set whose every figure is worked out
by hand below; and the counters each event adds (stats.received, stats.closed).

Over 400 lines: the hand-worked data set and every figure checked against it read best side by side."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from complaints.core import stats
from complaints.core.models import Case, CustomerIn, Status
from complaints.ops.reports import Cause, Compliance, RemedyTotal, build_report, nearest_rank

START, END = date(2026, 11, 20), date(2026, 11, 22)


def counter_item(day: str, shard: int, counters: dict[str, Any]) -> dict[str, Any]:
    """A counter item as DynamoDB returns it: numbers come back as Decimal."""
    return {
        "pk": "STATS",
        "sk": f"DAY#{day}#{shard}",
        "kind": "stats",
        "day": day,
        **{name: Decimal(str(value)) for name, value in counters.items()},
    }


# Four items over three days and four shards.
ITEMS = [
    counter_item(
        "2026-11-20",
        3,
        {
            "received": 3,
            "category#payments": 2,
            "category#technical": 1,
            "channel#web": 2,
            "channel#app": 1,
            "priority#P2": 2,
            "priority#P3": 1,
            "closed": 2,
            "first_response#met": 2,
            "resolution_sla#met": 1,
            "resolution_sla#missed": 1,
            "final_response#met": 2,
            "ttr_minutes#90": 1,
            "ttr_minutes#600": 1,
            "remedy#refund": 1,
            "amount#refund#CNY": "150.00",
            "remedy#explanation": 1,
            "csat#5": 1,
            "csat#3": 1,
            "cause#payments#payment_processing": 1,
            "cause#technical#system_fault": 1,
            "escalation#investigation#lead": 1,
        },
    ),
    counter_item(
        "2026-11-20",
        7,
        {
            "received": 1,
            "category#payments": 1,
            "channel#email": 1,
            "priority#P1": 1,
            "closed": 1,
            "first_response#missed": 1,
            "resolution_sla#missed": 1,
            "final_response#met": 1,
            "ttr_minutes#90": 1,
            "remedy#refund": 1,
            "amount#refund#CNY": "49.50",
            "csat#1": 1,
            "cause#payments#payment_processing": 1,
            "escalation#approval#head": 1,
            "needs_attention": 1,
        },
    ),
    counter_item(
        "2026-11-21",
        0,
        {
            "received": 4,
            "category#account": 2,
            "category#payments": 1,
            "category#technical": 1,
            "channel#web": 3,
            "channel#phone": 1,
            "priority#P3": 3,
            "priority#P4": 1,
            "closed": 3,
            "first_response#met": 3,
            "resolution_sla#met": 3,
            "final_response#met": 2,
            "final_response#missed": 1,
            "ttr_minutes#45": 1,
            "ttr_minutes#1440": 1,
            "ttr_minutes#2900": 1,
            "remedy#compensation": 2,
            "amount#compensation#USD": "20.00",
            "amount#compensation#CNY": "100.25",
            "remedy#refund": 1,
            "amount#refund#CNY": "0.25",
            "csat#4": 2,
            "cause#account#account_controls": 2,
            "cause#payments#payment_processing": 1,
            "escalation#investigation#lead": 1,
            "escalation#investigation#head": 1,
        },
    ),
    # A day on which nothing was received, only closed.
    counter_item(
        "2026-11-22",
        5,
        {
            "closed": 1,
            "resolution_sla#met": 1,
            "ttr_minutes#300": 1,
            "remedy#explanation": 1,
            "csat#5": 1,
            "cause#technical#system_fault": 1,
            "needs_attention": 2,
        },
    ),
]


@pytest.fixture
def report():
    return build_report(ITEMS, START, END)


def test_the_report_says_what_it_covers_and_what_it_read(report):
    assert (report.start, report.end) == (START, END)
    assert report.items_read == 4


def test_volume_by_day_category_channel_and_priority(report):
    # received: 3 + 1 + 4 + 0 = 8
    assert report.received == 8
    # 20th: 3 + 1 = 4; 21st: 4; 22nd received nothing and is left out.
    assert report.by_day == {"2026-11-20": 4, "2026-11-21": 4}
    # payments 2 + 1 + 1 = 4, account 2, technical 1 + 1 = 2: most first, ties by name.
    assert list(report.by_category.items()) == [("payments", 4), ("account", 2), ("technical", 2)]
    # web 2 + 3 = 5, then app, email, phone with 1 each.
    assert list(report.by_channel.items()) == [("web", 5), ("app", 1), ("email", 1), ("phone", 1)]
    # P1 1, P2 2, P3 1 + 3 = 4, P4 1: in priority order, not by count.
    assert list(report.by_priority.items()) == [("P1", 1), ("P2", 2), ("P3", 4), ("P4", 1)]


def test_sla_compliance_met_missed_and_rate(report):
    # closed: 2 + 1 + 3 + 1 = 7
    assert report.closed == 7
    # first response: met 2 + 3 = 5, missed 1
    # resolution:     met 1 + 3 + 1 = 5, missed 1 + 1 = 2
    # final response: met 2 + 1 + 2 = 5, missed 1
    assert report.compliance == {
        "first_response": Compliance(met=5, missed=1),
        "resolution_sla": Compliance(met=5, missed=2),
        "final_response": Compliance(met=5, missed=1),
    }
    assert report.compliance["first_response"].total == 6
    assert report.compliance["first_response"].rate == pytest.approx(5 / 6)
    assert report.compliance["resolution_sla"].rate == pytest.approx(5 / 7)
    assert report.compliance["final_response"].rate == pytest.approx(5 / 6)


def test_time_to_resolve_median_and_p90_are_nearest_rank_in_hours(report):
    # Minutes, sorted: [45, 90, 90, 300, 600, 1440, 2900]  (n = 7)
    # median: rank ceil(0.5 * 7) = 4 -> 300 min = 5.0 h
    # p90:    rank ceil(0.9 * 7) = 7 -> 2900 min = 48.33 h -> 48.3
    assert report.ttr_median_hours == 5.0
    assert report.ttr_p90_hours == 48.3


def test_remedy_counts_and_amounts_per_currency(report):
    # refund: 1 + 1 + 1 = 3, CNY 150.00 + 49.50 + 0.25 = 199.75
    # compensation: 2, USD 20.00 and CNY 100.25 (never added across currencies)
    # explanation: 1 + 1 = 2, no money
    assert report.remedies == {
        "refund": RemedyTotal(count=3, amounts={"CNY": Decimal("199.75")}),
        "compensation": RemedyTotal(count=2, amounts={"CNY": Decimal("100.25"), "USD": Decimal("20.00")}),
        "explanation": RemedyTotal(count=2, amounts={}),
    }
    assert list(report.remedies) == ["refund", "compensation", "explanation"]
    assert isinstance(report.remedies["refund"].amounts["CNY"], Decimal)  # exact, no float


def test_csat_distribution_and_average(report):
    # ratings: 5 x (1 + 1), 3 x 1, 1 x 1, 4 x 2 -> 6 answers, sum 10 + 3 + 1 + 8 = 22, 22 / 6 = 3.67
    assert report.csat_distribution == {1: 1, 2: 0, 3: 1, 4: 2, 5: 2}
    assert report.csat_average == 3.67


def test_escalations_needs_attention_and_top_causes(report):
    # investigation to the lead 1 + 1 = 2, to the head 1; approval to the head 1
    assert report.escalations == {
        "approval: head": 1,
        "investigation: head": 1,
        "investigation: lead": 2,
    }
    assert report.needs_attention == 1 + 2
    # payments/payment_processing 1 + 1 + 1 = 3; account/account_controls 2;
    # technical/system_fault 1 + 1 = 2 (ties by name: account before technical)
    assert report.top_causes == [
        Cause(category="payments", cause="payment_processing", count=3),
        Cause(category="account", cause="account_controls", count=2),
        Cause(category="technical", cause="system_fault", count=2),
    ]
    assert build_report(ITEMS, START, END, top=2).top_causes == report.top_causes[:2]


def test_time_spent_waiting_for_the_customer_sums_over_days_and_shards():
    """Each question to a complainant adds, when the case resumes, one answered or unanswered wait and the
    minutes it waited (its SLA paused)."""
    items = [
        counter_item("2026-03-02", 0, {"customer_wait#answered": 1, "customer_wait_minutes": 120}),
        counter_item("2026-03-02", 1, {"customer_wait#unanswered": 1, "customer_wait_minutes": 600}),
        counter_item("2026-03-03", 0, {"customer_wait#answered": 1, "customer_wait_minutes": 180}),
    ]

    waits = build_report(items, START, END).customer_waits

    assert (waits.answered, waits.unanswered) == (2, 1)
    assert waits.total_hours == 15.0  # 900 minutes
    assert waits.average_hours == 5.0
    assert build_report([], START, END).customer_waits.average_hours is None


def test_the_order_of_the_items_changes_nothing(report):
    assert build_report(list(reversed(ITEMS)), START, END) == report


def test_a_report_of_days_without_counters_is_empty_not_an_error():
    empty = build_report([], START, END)

    assert empty.items_read == 0
    assert empty.received == empty.closed == empty.needs_attention == 0
    assert empty.by_day == empty.by_category == empty.remedies == {}
    assert all(c.rate is None and c.total == 0 for c in empty.compliance.values())
    assert set(empty.compliance) == {"first_response", "resolution_sla", "final_response"}
    assert empty.ttr_median_hours is None and empty.ttr_p90_hours is None
    assert empty.csat_distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert empty.csat_average is None
    assert empty.top_causes == []


# ------------------------------------------------------------------ nearest rank


def test_nearest_rank_of_nothing_is_none():
    assert nearest_rank({}, 0.5) is None
    assert nearest_rank({30: 0}, 0.5) is None


def test_nearest_rank_of_one_observation_is_that_observation():
    for share in (0.0, 0.01, 0.5, 0.9, 1.0):
        assert nearest_rank({42: 1}, share) == 42


def test_nearest_rank_with_ties():
    # [10, 10, 10, 10, 10, 20, 20, 20, 20, 20]
    halves = {20: 5, 10: 5}
    assert nearest_rank(halves, 0.5) == 10  # rank 5
    assert nearest_rank(halves, 0.51) == 20  # rank ceil(5.1) = 6
    assert nearest_rank(halves, 0.9) == 20  # rank 9
    # [10 x 9, 20]: the 90th percentile is the 9th value
    assert nearest_rank({10: 9, 20: 1}, 0.9) == 10
    assert nearest_rank({10: 9, 20: 1}, 1.0) == 20


# ------------------------------------------------------------------ what each event counts

CREATED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def case(**fields: Any) -> Case:
    values: dict[str, Any] = {
        "complaint_id": "CMP-20261120-ABC123",
        "status": Status.RESOLVING,
        "created_at": CREATED,
        "updated_at": CREATED,
        "channel": "web",
        "locale": "en",
        "customer": CustomerIn(email="li.wei@example.com"),
        "description": "Withdrawal missing",
        "access_code_hash": "x",
        "response_due_at": CREATED + timedelta(weeks=8),
        "category": "payments",
    }
    values.update(fields)
    return Case(**values)


def test_intake_counts_every_complaint_and_triage_its_category_and_priority():
    assert stats.received("web") == {"received": 1, "channel#web": 1}
    assert stats.triaged("payments", "P2") == {"category#payments": 1, "priority#P2": 1}
    # A complaint linked to an earlier case has no priority of its own.
    assert stats.triaged("payments", None) == {"category#payments": 1}


def test_a_case_closed_within_every_target_at_time_scale_1():
    closed = stats.closed(
        case(
            acknowledged_at=CREATED + timedelta(minutes=30),
            first_response_due_at=CREATED + timedelta(hours=1),
            resolution_sent_at=CREATED + timedelta(days=2),
            resolution_due_at=CREATED + timedelta(days=5),
            findings={
                "remedy": "refund",
                "amount": "150.00",
                "currency": "CNY",
                "rootCause": "payment_processing",
            },
            csat_rating=4,
        ),
        CREATED + timedelta(days=2, seconds=30),  # 2880.5 minutes: counted as 2881
        time_scale=1,
    )

    assert closed == {
        "closed": 1,
        "first_response#met": 1,
        "resolution_sla#met": 1,
        "final_response#met": 1,
        "ttr_minutes#2881": 1,
        "remedy#refund": 1,
        "amount#refund#CNY": Decimal("150.00"),
        "cause#payments#payment_processing": 1,
        "csat#4": 1,
    }


def test_a_case_closed_late_at_time_scale_1():
    closed = stats.closed(
        case(
            acknowledged_at=CREATED + timedelta(hours=1, seconds=1),
            first_response_due_at=CREATED + timedelta(hours=1),
            resolution_sent_at=CREATED + timedelta(days=6),
            resolution_due_at=CREATED + timedelta(days=5),
            response_due_at=CREATED + timedelta(days=5, hours=23),
        ),
        CREATED + timedelta(days=6, hours=1),
        time_scale=1,
    )

    assert closed == {
        "closed": 1,
        "first_response#missed": 1,
        "resolution_sla#missed": 1,
        "final_response#missed": 1,
        "ttr_minutes#8700": 1,  # 6 days 1 hour
    }


def test_at_time_scale_3600_a_real_second_counts_as_a_policy_hour():
    # 2 s after the complaint is 2 policy hours: past a 1-hour first-response target.
    # 20 s is 20 policy hours: within a 24-hour resolution target, and the 8 weeks of the final response.
    # Closed 40.5 s after: 145,800 policy seconds = 2430 minutes.
    closed = stats.closed(
        case(
            acknowledged_at=CREATED + timedelta(seconds=2),
            first_response_due_at=CREATED + timedelta(hours=1),
            resolution_sent_at=CREATED + timedelta(seconds=20),
            resolution_due_at=CREATED + timedelta(hours=24),
            category="technical",
            findings={"remedy": "explanation", "summary": "x", "customerMessage": "y"},
        ),
        CREATED + timedelta(seconds=40.5),
        time_scale=3600,
    )

    assert closed == {
        "closed": 1,
        "first_response#missed": 1,
        "resolution_sla#met": 1,
        "final_response#met": 1,
        "ttr_minutes#2430": 1,
        "remedy#explanation": 1,
        "cause#technical#unspecified": 1,  # no root cause given
    }
    # The same times at scale 1 are all well within target.
    assert stats.closed(
        case(
            acknowledged_at=CREATED + timedelta(seconds=2),
            first_response_due_at=CREATED + timedelta(hours=1),
        ),
        CREATED + timedelta(seconds=40.5),
        time_scale=1,
    ) == {"closed": 1, "first_response#met": 1, "ttr_minutes#1": 1}


@pytest.mark.parametrize(
    ("after", "minutes"),
    [
        (timedelta(minutes=90), 90),  # a whole number of minutes stays as it is
        (timedelta(minutes=90, seconds=1), 91),  # any part of a minute counts as a minute
        (timedelta(milliseconds=1), 1),
        (timedelta(0), 0),
    ],
)
def test_time_to_resolve_rounds_up_to_the_minute(after, minutes):
    assert stats.closed(case(), CREATED + after, time_scale=1) == {"closed": 1, f"ttr_minutes#{minutes}": 1}


def test_what_is_not_known_is_not_counted():
    # No acknowledgement, no resolution sent, no findings, no rating: only the closure and its time.
    assert stats.closed(
        case(
            first_response_due_at=CREATED + timedelta(hours=1), resolution_due_at=CREATED + timedelta(days=1)
        ),
        CREATED + timedelta(hours=2),
        time_scale=1,
    ) == {"closed": 1, "ttr_minutes#120": 1}


def test_a_root_cause_of_a_case_without_category_is_filed_under_other():
    closed = stats.closed(
        case(category=None, findings={"remedy": "account_fix"}, csat_rating=2),
        CREATED + timedelta(minutes=5),
        time_scale=1,
    )
    assert closed["cause#other#unspecified"] == 1
    assert closed["remedy#account_fix"] == 1
    assert closed["csat#2"] == 1
    assert not any(name.startswith("amount#") for name in closed)


def test_counters_are_counted_on_the_policy_calendar_day():
    # 17:00 UTC on the 20th is 01:00 on the 21st in Shanghai.
    counted = stats.tally(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), "Asia/Shanghai", "CMP-1", {"closed": 1})
    assert counted.day == "2026-11-21"
    assert counted.shard == stats.shard_of("CMP-1")
    assert 0 <= counted.shard < stats.SHARDS
    assert stats.tally(datetime(2026, 11, 20, 15, 59, tzinfo=UTC), "Asia/Shanghai", "CMP-1", {}).day == (
        "2026-11-20"
    )
