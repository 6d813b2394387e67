"""Final-response deadlines on the business calendar, and the policy document's validation.

Expected dates were worked out by hand from the `holidays` 0.109 data for CN in 2026:
  2026-09-25 Fri Mid-Autumn Festival
  2026-10-01 Thu, 10-02 Fri, 10-03 Sat National Day; 10-05 Mon National Day (observed);
  2026-10-06 Tue, 10-07 Wed days off (substituted from Sun 09-20 and Sat 10-10, both working days)
and no holiday or substituted working day in March 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from complaints.core.calendar import Duration, load_policy, real_seconds

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def close_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_the_packaged_policy_counts_on_the_chinese_calendar_in_shanghai(policy):
    assert policy.calendar.timezone == "Asia/Shanghai"
    assert policy.calendar.holidays_country == "CN"
    assert policy.duplicate_window_seconds == 600
    assert policy.reconcile_grace_seconds == 120


@pytest.mark.parametrize("category", [None, "", "gambling"])
def test_the_default_final_response_is_due_eight_weeks_after_receipt(policy, category):
    received = datetime(2026, 3, 5, 10, 15, 30, tzinfo=UTC)

    assert policy.response_due(received, category) == datetime(2026, 4, 30, 10, 15, 30, tzinfo=UTC)


def test_eight_weeks_run_through_holidays_and_weekends_unchanged(policy):
    received = shanghai(2026, 9, 30, 10)
    assert policy.response_due(received) == received + timedelta(days=56)


def test_payments_are_due_at_the_close_of_the_fifteenth_business_day_across_a_weekend(policy):
    # Thu 5 March: Fri 6 (1), Mon 9 - Fri 13 (6), 16-20 (11), Mon 23 - Thu 26 (15).
    due = policy.response_due(shanghai(2026, 3, 5, 10), "payments")

    assert due == close_of(date(2026, 3, 26))
    assert due.utcoffset() == timedelta(hours=8)


def test_a_payments_complaint_received_on_a_saturday_counts_from_monday(policy):
    # Sat 7 March: Mon 9 - Fri 13 (5), 16-20 (10), 23-27 (15).
    assert policy.response_due(shanghai(2026, 3, 7, 15), "payments") == close_of(date(2026, 3, 27))
    assert policy.response_due(shanghai(2026, 3, 6, 15), "payments") == close_of(date(2026, 3, 27))


def test_the_business_day_is_the_local_day_in_shanghai_not_the_utc_day(policy):
    # 23:30 UTC on Thursday 5 March is 07:30 on Friday 6 March in Shanghai.
    late_utc = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    same_local_thursday = datetime(2026, 3, 5, 15, 30, tzinfo=UTC)  # 23:30 Thursday in Shanghai

    assert policy.response_due(late_utc, "payments") == close_of(date(2026, 3, 27))
    assert policy.response_due(same_local_thursday, "payments") == close_of(date(2026, 3, 26))
    assert policy.response_due(late_utc, "payments").astimezone(UTC) == datetime(
        2026, 3, 27, 15, 59, 59, tzinfo=UTC
    )


def test_the_national_day_holidays_are_not_business_days(policy):
    calendar = policy.calendar
    expected = {
        date(2026, 9, 30): True,  # Wed
        date(2026, 10, 1): False,  # National Day
        date(2026, 10, 2): False,
        date(2026, 10, 3): False,
        date(2026, 10, 4): False,  # Sunday
        date(2026, 10, 5): False,  # National Day (observed)
        date(2026, 10, 6): False,  # day off (substituted), a Tuesday
        date(2026, 10, 7): False,  # day off (substituted), a Wednesday
        date(2026, 10, 8): True,
        date(2026, 10, 9): True,
        date(2026, 10, 11): False,  # Sunday
        date(2026, 9, 25): False,  # Mid-Autumn Festival, a Friday
    }

    assert {day: calendar.is_business_day(day) for day in expected} == expected


def test_business_days_skip_the_whole_national_day_week(policy):
    # Wed 30 Sept: 1-7 October are off, so the 1st and 2nd business days are Thu 8 and Fri 9 October.
    start = shanghai(2026, 9, 30, 10)

    assert policy.add_business_days(start, 1) == close_of(date(2026, 10, 8))
    assert policy.add_business_days(start, 2) == close_of(date(2026, 10, 9))


def test_payments_received_before_national_day_are_due_fifteen_chinese_working_days_later(policy):
    # Wed 30 Sept: 1-7 Oct off; Thu 8 (1), Fri 9 (2), Sat 10 (3, a working day in China),
    # Mon 12 - Fri 16 (8), 19-23 (13), Mon 26 (14), Tue 27 (15).
    assert policy.response_due(shanghai(2026, 9, 30, 10), "payments") == close_of(date(2026, 10, 27))


@pytest.mark.parametrize(
    ("policy_seconds", "time_scale", "real"),
    [(120, 1, 120), (3600, 3600, 1), (120, 3600, 120 / 3600), (86400, 60, 1440), (0, 3600, 0)],
)
def test_real_seconds_divides_policy_time_by_the_time_scale(policy_seconds, time_scale, real):
    assert real_seconds(policy_seconds, time_scale) == pytest.approx(real)


POLICY = """
calendar: {timezone: Asia/Shanghai, holidays_country: CN}
final_response:
  default: {weeks: 8}
  by_category:
    payments: {business_days: 15}
duplicate_window_seconds: 600
idempotency_key_ttl_seconds: 86400
reconcile_grace_seconds: 120
"""


def test_a_valid_policy_document_loads():
    policy = load_policy(POLICY)
    assert policy.final_response.by_category["payments"].business_days == 15


@pytest.mark.parametrize(
    ("text", "location"),
    [
        (POLICY + "duplicate_window_secs: 60\n", ("duplicate_window_secs",)),
        (
            POLICY.replace("holidays_country: CN}", "holidays_country: CN, weekends: [6]}"),
            ("calendar", "weekends"),
        ),
        (POLICY.replace("{business_days: 15}", "{business_day: 15}"), None),
    ],
    ids=["top-level", "calendar", "deadline"],
)
def test_load_policy_rejects_an_unknown_key(text, location):
    with pytest.raises(ValidationError) as raised:
        load_policy(text)

    errors = raised.value.errors()
    assert any(error["type"] == "extra_forbidden" for error in errors)
    if location:
        assert location in [tuple(error["loc"]) for error in errors]


def test_load_policy_rejects_a_non_positive_deadline():
    with pytest.raises(ValidationError):
        load_policy(POLICY.replace("{business_days: 15}", "{business_days: 0}"))


@pytest.mark.parametrize("deadline", ["{}", "{weeks: 8, business_days: 15}"], ids=["none", "both"])
def test_load_policy_rejects_a_deadline_without_exactly_one_unit(deadline):
    with pytest.raises(ValidationError, match="exactly one of weeks, business_days"):
        load_policy(POLICY.replace("{business_days: 15}", deadline))


def test_a_calendar_without_working_hours_works_nine_to_six():
    hours = load_policy(POLICY).calendar.working_hours
    assert (hours.start, hours.end) == (time(9), time(18))


def test_sla_business_days_are_working_hours_but_deadline_business_days_end_at_the_close(policy):
    # The same words, two meanings: the regulatory deadline runs to 23:59:59 of the n-th business day
    # after the day of receipt; an SLA business day is 9 business hours from the start.
    start = shanghai(2026, 3, 3, 10)
    assert policy.add_business_days(start, 1) == close_of(date(2026, 3, 4))
    assert policy.due(start, Duration(business_days=1)) == shanghai(2026, 3, 4, 10)
