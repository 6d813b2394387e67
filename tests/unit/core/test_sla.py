"""Business-hours arithmetic and the SLA per priority.

Expectations were worked out by hand; the holidays come from the `holidays` 0.109 data:
  CN 2026: no holiday and no substituted working day in March (Mon 2 March is a Monday);
    Sun 20 Sept a working day; Fri 25 Sept Mid-Autumn Festival; 1-7 Oct off (National Day Thu 1,
    Fri 2, Sat 3; Mon 5 observed; Tue 6, Wed 7 days off substituted); Sat 10 Oct a working day.
  GB 2026 (no subdivision, so no Easter Monday): Fri 25 Dec Christmas, Sat 26 Boxing Day,
    Mon 28 Dec Boxing Day (observed). Europe/London goes to BST at 01:00 GMT on Sun 29 March and
    back to GMT at 02:00 BST on Sun 25 October.
Working hours 09:00-18:00, so one business day is 9 business hours.

Over 400 lines: the calendar's hand-worked cases, kept beside the holiday data they were worked from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

import complaints.core.calendar as policy_module
from complaints.core.calendar import Duration, SlaDue, load_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")


def shanghai(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def london(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def calendar(policy):
    return policy.calendar


LONDON_POLICY = """
calendar:
  timezone: Europe/London
  holidays_country: GB
  working_hours: {start: "09:00", end: "18:00"}
final_response: {default: {weeks: 8}}
sla:
  P1: {first_response: {hours: 1}, resolution: {hours: 4}}
  P2: {first_response: {business_hours: 4}, resolution: {business_days: 1}}
duplicate_window_seconds: 600
idempotency_key_ttl_seconds: 86400
reconcile_grace_seconds: 120
"""


@pytest.fixture(scope="module")
def london_policy():
    return load_policy(LONDON_POLICY)


# --- the packaged policy ------------------------------------------------------------------------------


def test_the_packaged_policy_works_nine_to_six_and_has_the_product_resolution_times(policy):
    hours = policy.calendar.working_hours
    assert (hours.start.isoformat(), hours.end.isoformat()) == ("09:00:00", "18:00:00")
    assert hours.length == timedelta(hours=9)
    assert policy.sla["P1"].resolution == Duration(hours=4)
    assert policy.sla["P2"].resolution == Duration(business_days=1)
    assert policy.sla["P3"].resolution == Duration(business_days=3)
    assert policy.sla["P4"].resolution == Duration(business_days=5)
    assert sorted(policy.sla) == ["P1", "P2", "P3", "P4"]


# --- add_business_hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (shanghai(2026, 3, 3, 10), 2, shanghai(2026, 3, 3, 12)),
        # Tue 16:00: 2 h to closing, 2 h on Wednesday from 09:00.
        (shanghai(2026, 3, 3, 16), 4, shanghai(2026, 3, 4, 11)),
        (shanghai(2026, 3, 3, 9), 0.5, shanghai(2026, 3, 3, 9, 30)),
    ],
    ids=["same-day", "into-next-day", "at-opening"],
)
def test_a_start_inside_working_hours_counts_from_the_start(calendar, start, hours, expected):
    assert calendar.add_business_hours(start, hours) == expected


def test_a_start_before_opening_counts_from_the_opening(calendar):
    assert calendar.add_business_hours(shanghai(2026, 3, 3, 7, 30), 1) == shanghai(2026, 3, 3, 10)
    assert calendar.add_business_hours(shanghai(2026, 3, 3, 0, 0), 9) == shanghai(2026, 3, 3, 18)


@pytest.mark.parametrize(
    "start",
    [shanghai(2026, 3, 3, 18), shanghai(2026, 3, 3, 19), shanghai(2026, 3, 3, 23, 59, 59)],
    ids=["at-closing", "evening", "just-before-midnight"],
)
def test_a_start_after_closing_counts_from_the_next_morning(calendar, start):
    assert calendar.add_business_hours(start, 1) == shanghai(2026, 3, 4, 10)


def test_a_start_on_friday_evening_counts_from_monday_morning(calendar):
    assert calendar.add_business_hours(shanghai(2026, 3, 6, 20), 1) == shanghai(2026, 3, 9, 10)
    assert calendar.add_business_hours(shanghai(2026, 3, 7, 12), 1) == shanghai(2026, 3, 9, 10)  # Saturday
    # Fri 17:00: 1 h on Friday, 2 h on Monday.
    assert calendar.add_business_hours(shanghai(2026, 3, 6, 17), 3) == shanghai(2026, 3, 9, 11)


def test_a_start_on_a_holiday_counts_from_the_next_business_day(calendar):
    # Thu 1 Oct, National Day: 1-7 October are off.
    assert calendar.add_business_hours(shanghai(2026, 10, 1, 10), 2) == shanghai(2026, 10, 8, 11)
    # Wed 30 Sept 17:00: 1 h before the holiday, 1 h on Thu 8 October.
    assert calendar.add_business_hours(shanghai(2026, 9, 30, 17), 2) == shanghai(2026, 10, 8, 10)
    # Thu 24 Sept 17:00: Fri 25 is the Mid-Autumn Festival, then the weekend.
    assert calendar.add_business_hours(shanghai(2026, 9, 24, 17), 2) == shanghai(2026, 9, 28, 10)


def test_chinas_substituted_working_weekend_days_count(calendar):
    # Fri 9 Oct 17:00: 1 h on Friday, 1 h on Saturday 10 October, a working day.
    assert calendar.add_business_hours(shanghai(2026, 10, 9, 17), 2) == shanghai(2026, 10, 10, 10)
    # Sat 19 Sept is off; Sun 20 Sept is a working day.
    assert calendar.add_business_hours(shanghai(2026, 9, 19, 10), 1) == shanghai(2026, 9, 20, 10)


def test_a_duration_ending_exactly_at_closing_ends_at_closing_not_next_morning(calendar):
    assert calendar.add_business_hours(shanghai(2026, 3, 3, 10), 8) == shanghai(2026, 3, 3, 18)
    assert calendar.add_business_hours(shanghai(2026, 3, 3, 9), 9) == shanghai(2026, 3, 3, 18)
    # Fri 18:00 counts from Monday 09:00 and runs out at Monday's close.
    assert calendar.add_business_hours(shanghai(2026, 3, 6, 18), 9) == shanghai(2026, 3, 9, 18)
    # Two full days from Wednesday 30 Sept 09:00 close on Thursday 8 October.
    assert calendar.add_business_hours(shanghai(2026, 9, 30, 9), 18) == shanghai(2026, 10, 8, 18)


def test_a_duration_spans_several_days(calendar):
    # Mon 2 March 14:00: Mon 4 h (26 left), Tue 9 (17), Wed 9 (8), Thu 09:00 + 8 h.
    assert calendar.add_business_hours(shanghai(2026, 3, 2, 14), 30) == shanghai(2026, 3, 5, 17)
    # Thu 5 March 15:00: Thu 3 h (17 left), Fri 9 (8), Mon 09:00 + 8 h.
    assert calendar.add_business_hours(shanghai(2026, 3, 5, 15), 20) == shanghai(2026, 3, 9, 17)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (shanghai(2026, 3, 3, 10, 10), 1.75, shanghai(2026, 3, 3, 11, 55)),
        # 15 min on Tuesday, 15 min on Wednesday.
        (shanghai(2026, 3, 3, 17, 45), 0.5, shanghai(2026, 3, 4, 9, 15)),
        # 0.01 h = 36 s: 10 s on Tuesday, 26 s on Wednesday.
        (shanghai(2026, 3, 3, 17, 59, 50), 0.01, shanghai(2026, 3, 4, 9, 0, 26)),
        (shanghai(2026, 3, 3, 10, 0, 30), 2.5, shanghai(2026, 3, 3, 12, 30, 30)),
        (shanghai(2026, 3, 3, 10), 1 / 3, shanghai(2026, 3, 3, 10, 20)),
    ],
    ids=["hour-and-three-quarters", "half-hour-over-closing", "36-seconds-over-closing", "seconds", "third"],
)
def test_fractional_hours_are_exact_to_the_second(calendar, start, hours, expected):
    assert calendar.add_business_hours(start, hours) == expected


def test_the_business_day_is_the_local_day_in_shanghai_not_the_utc_day(calendar):
    # 23:30 UTC on Thursday 5 March is 07:30 on Friday 6 March in Shanghai.
    due = calendar.add_business_hours(datetime(2026, 3, 5, 23, 30, tzinfo=UTC), 2)
    assert due == shanghai(2026, 3, 6, 11)
    assert due.astimezone(UTC) == datetime(2026, 3, 6, 3, 0, tzinfo=UTC)
    # 16:30 UTC on Friday 6 March is 00:30 on Saturday in Shanghai: counting starts on Monday.
    assert calendar.add_business_hours(datetime(2026, 3, 6, 16, 30, tzinfo=UTC), 1) == shanghai(
        2026, 3, 9, 10
    )
    # 09:30 UTC on Friday is 17:30 in Shanghai: 30 min on Friday, 30 min on Monday.
    assert calendar.add_business_hours(datetime(2026, 3, 6, 9, 30, tzinfo=UTC), 1) == shanghai(
        2026, 3, 9, 9, 30
    )


def test_the_result_is_in_the_calendars_time_zone(calendar):
    due = calendar.add_business_hours(datetime(2026, 3, 5, 23, 30, tzinfo=UTC), 2)
    assert due.tzinfo is SHANGHAI
    assert (due.hour, due.minute, due.utcoffset()) == (11, 0, timedelta(hours=8))


def test_zero_hours_is_the_start_itself(calendar):
    start = datetime(2026, 3, 7, 4, tzinfo=UTC)  # Saturday noon in Shanghai
    assert calendar.add_business_hours(start, 0) == start
    assert calendar.add_business_hours(start, 0).tzinfo is SHANGHAI


@pytest.mark.parametrize("hours", [-1, float("inf"), float("nan")])
def test_add_business_hours_rejects_negative_or_non_finite_hours(calendar, hours):
    with pytest.raises(ValueError, match="hours"):
        calendar.add_business_hours(shanghai(2026, 3, 3, 10), hours)


def test_a_naive_start_is_refused(calendar, policy):
    with pytest.raises(ValueError, match="aware"):
        calendar.add_business_hours(datetime(2026, 3, 3, 10), 1)
    with pytest.raises(ValueError, match="aware"):
        policy.sla_due(datetime(2026, 3, 3, 10), "P1")


# --- DST in Europe/London -----------------------------------------------------------------------------


def test_business_hours_across_the_spring_dst_change_in_london(london_policy):
    calendar = london_policy.calendar
    # Fri 27 March 17:00 GMT: 1 h on Friday; the clocks go forward on Sunday; 1 h on Monday from 09:00 BST.
    due = calendar.add_business_hours(london(2026, 3, 27, 17), 2)
    assert due == london(2026, 3, 30, 10)
    assert due.utcoffset() == timedelta(hours=1)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 9, tzinfo=UTC)
    assert due.tzinfo is LONDON
    # One business day from Friday noon: 6 h on Friday, 3 h on Monday.
    assert london_policy.due(london(2026, 3, 27, 12), Duration(business_days=1)) == london(2026, 3, 30, 12)


def test_business_hours_across_the_autumn_dst_change_in_london(london_policy):
    calendar = london_policy.calendar
    # Fri 23 October 17:30 BST: 30 min on Friday; back to GMT on Sunday; 30 min on Monday.
    due = calendar.add_business_hours(london(2026, 10, 23, 17, 30), 1)
    assert due == london(2026, 10, 26, 9, 30)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)


def test_london_counts_the_gb_holidays(london_policy):
    # Thu 24 Dec 17:00: 1 h; Christmas Fri 25, the weekend, Boxing Day observed Mon 28; 1 h on Tuesday.
    assert london_policy.calendar.add_business_hours(london(2026, 12, 24, 17), 2) == london(2026, 12, 29, 10)


def test_clock_hours_are_elapsed_time_across_the_dst_change(london_policy):
    # Sat 28 March 23:30 GMT + 4 h elapsed = 03:30 UTC on Sunday = 04:30 BST (not 03:30 on the clock face).
    due = london_policy.sla_due(london(2026, 3, 28, 23, 30), "P1")
    assert due.resolution_due == datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    assert (due.resolution_due.hour, due.resolution_due.minute) == (4, 30)
    assert due.first_response_due == london(2026, 3, 29, 0, 30)


# --- Duration -----------------------------------------------------------------------------------------


def test_one_business_day_is_nine_business_hours(policy):
    starts = [
        shanghai(2026, 3, 3, 10),
        shanghai(2026, 3, 6, 17, 15),
        shanghai(2026, 3, 7, 12),
        shanghai(2026, 9, 30, 17),
        datetime(2026, 3, 5, 23, 30, tzinfo=UTC),
    ]
    for start in starts:
        assert policy.due(start, Duration(business_days=1)) == policy.due(start, Duration(business_hours=9))
    assert policy.due(shanghai(2026, 3, 3, 10), Duration(business_days=0.5)) == shanghai(2026, 3, 3, 14, 30)


def test_clock_hours_run_through_nights_weekends_and_holidays(policy):
    assert policy.due(shanghai(2026, 3, 6, 22), Duration(hours=12)) == shanghai(2026, 3, 7, 10)
    assert policy.due(shanghai(2026, 10, 1, 12), Duration(hours=1.5)) == shanghai(2026, 10, 1, 13, 30)
    assert policy.due(datetime(2026, 3, 5, 23, 30, tzinfo=UTC), Duration(hours=1)).tzinfo is SHANGHAI


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"hours": 1, "business_hours": 1},
        {"business_hours": 4, "business_days": 1},
        {"hours": 1, "business_hours": 1, "business_days": 1},
        {"hours": None},
    ],
    ids=["none", "hours-and-business-hours", "business-hours-and-days", "all-three", "explicit-null"],
)
def test_a_duration_needs_exactly_one_unit(fields):
    with pytest.raises(ValidationError, match="exactly one of hours, business_hours, business_days"):
        Duration.model_validate(fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"hours": 0},
        {"business_hours": -1},
        {"business_days": float("inf")},
        {"business_hours": float("nan")},
        {"hours": "4"},
        {"hours": True},
        {"minutes": 30},
    ],
    ids=["zero", "negative", "infinite", "nan", "string", "bool", "unknown-unit"],
)
def test_a_duration_must_be_a_positive_finite_number_of_a_known_unit(fields):
    with pytest.raises(ValidationError):
        Duration.model_validate(fields)


def test_a_duration_accepts_whole_and_fractional_numbers():
    assert Duration(hours=4).hours == 4
    assert Duration(business_hours=2.5).business_hours == 2.5
    assert Duration.model_validate({"business_days": 3}).business_days == 3


_WITHOUT_SLA = LONDON_POLICY.split("sla:")[0] + (
    "duplicate_window_seconds: 600\nidempotency_key_ttl_seconds: 86400\nreconcile_grace_seconds: 120\n"
)


def _with_sla(sla: str) -> str:
    return _WITHOUT_SLA + "sla:\n" + sla + "\n"


def test_load_policy_rejects_a_bad_sla_duration():
    assert load_policy(_with_sla("  P1: {first_response: {hours: 1}, resolution: {hours: 4}}")).sla
    with pytest.raises(ValidationError, match="exactly one"):
        load_policy(
            _with_sla("  P1: {first_response: {hours: 1, business_hours: 1}, resolution: {hours: 4}}")
        )
    with pytest.raises(ValidationError, match="exactly one"):
        load_policy(_with_sla("  P1: {first_response: {}, resolution: {hours: 4}}"))
    with pytest.raises(ValidationError, match="resolution"):
        load_policy(_with_sla("  P1: {first_response: {hours: 1}}"))


@pytest.mark.parametrize(
    "working_hours",
    [
        '{start: "18:00", end: "09:00"}',
        '{start: "09:00", end: "09:00"}',
        '{start: "09:00", end: 18:00}',  # YAML reads 18:00 as 1080 (base 60)
        '{start: "9am", end: "18:00"}',
        '{start: "09:00", end: "24:00"}',
        '{start: "09:00"}',
        '{start: "09:00", end: "18:00", lunch: "12:00"}',
    ],
    ids=["reversed", "empty", "unquoted", "not-hh-mm", "24:00", "no-end", "unknown-key"],
)
def test_load_policy_rejects_bad_working_hours(working_hours):
    text = LONDON_POLICY.replace('{start: "09:00", end: "18:00"}', working_hours)
    assert text != LONDON_POLICY
    with pytest.raises(ValidationError):
        load_policy(text)


def test_other_working_hours_change_the_length_of_a_business_day():
    policy = load_policy(LONDON_POLICY.replace('end: "18:00"', 'end: "17:30"'))
    assert policy.calendar.working_hours.length == timedelta(hours=8, minutes=30)
    # Tue 3 March 2026 10:00 GMT: 7.5 h to 17:30, then 1 h on Wednesday.
    assert policy.due(london(2026, 3, 3, 10), Duration(business_days=1)) == london(2026, 3, 4, 10)
    assert policy.calendar.add_business_hours(london(2026, 3, 3, 17), 1) == london(2026, 3, 4, 9, 30)


# --- sla_due ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "first_response", "resolution"),
    [
        # Tue 3 March 10:00: 1 h and 4 h around the clock.
        ("P1", shanghai(2026, 3, 3, 11), shanghai(2026, 3, 3, 14)),
        # 4 business hours; 9 business hours = Tue 8 h + Wed 1 h.
        ("P2", shanghai(2026, 3, 3, 14), shanghai(2026, 3, 4, 10)),
        # 9 business hours; 27 = Tue 8 + Wed 9 + Thu 9 + Fri 1.
        ("P3", shanghai(2026, 3, 4, 10), shanghai(2026, 3, 6, 10)),
        # 18 = Tue 8 + Wed 9 + Thu 1; 45 = Tue 8 + Wed, Thu, Fri, Mon 9 each (44) + Tue 1.
        ("P4", shanghai(2026, 3, 5, 10), shanghai(2026, 3, 10, 10)),
    ],
)
def test_sla_due_for_each_priority_from_a_tuesday_morning(policy, priority, first_response, resolution):
    due = policy.sla_due(shanghai(2026, 3, 3, 10), priority)

    assert due == SlaDue(first_response_due=first_response, resolution_due=resolution)
    assert due.first_response_due.tzinfo is SHANGHAI
    assert due.resolution_due.tzinfo is SHANGHAI


@pytest.mark.parametrize(
    ("priority", "first_response", "resolution"),
    [
        ("P1", shanghai(2026, 9, 30, 16), shanghai(2026, 9, 30, 19)),
        # 4: Wed 3 h + Thu 8 Oct 1 h. 9: Wed 3 + Thu 6.
        ("P2", shanghai(2026, 10, 8, 10), shanghai(2026, 10, 8, 15)),
        # 9: as P2's resolution. 27: Wed 3 + Thu 9 + Fri 9 + Sat 10 Oct 6 (a working Saturday).
        ("P3", shanghai(2026, 10, 8, 15), shanghai(2026, 10, 10, 15)),
        # 18: Wed 3 + Thu 9 + Fri 6. 45: Wed 3 + Thu, Fri, Sat 9 each (30) + Mon 12 9 (39) + Tue 13 6.
        ("P4", shanghai(2026, 10, 9, 15), shanghai(2026, 10, 13, 15)),
    ],
)
def test_sla_due_across_the_national_day_holidays(policy, priority, first_response, resolution):
    due = policy.sla_due(shanghai(2026, 9, 30, 15), priority)

    assert (due.first_response_due, due.resolution_due) == (first_response, resolution)


def test_p1_runs_around_the_clock_over_a_weekend_and_a_holiday(policy):
    # Friday 22:00 into Saturday.
    friday_night = policy.sla_due(shanghai(2026, 3, 6, 22), "P1")
    assert friday_night == SlaDue(shanghai(2026, 3, 6, 23), shanghai(2026, 3, 7, 2))
    # National Day, Thursday 1 October 23:30, into Friday 2 October (also a holiday).
    national_day = policy.sla_due(shanghai(2026, 10, 1, 23, 30), "P1")
    assert national_day == SlaDue(shanghai(2026, 10, 2, 0, 30), shanghai(2026, 10, 2, 3, 30))


def test_sla_due_counts_from_the_local_time_of_a_utc_start(policy):
    # 23:30 UTC on Friday 6 March is 07:30 on Saturday in Shanghai: business hours count from Monday.
    due = policy.sla_due(datetime(2026, 3, 6, 23, 30, tzinfo=UTC), "P2")
    assert due == SlaDue(shanghai(2026, 3, 9, 13), shanghai(2026, 3, 9, 18))


@pytest.mark.parametrize("priority", ["P9", "p1", "", "P1 "])
def test_an_unknown_priority_is_a_value_error_naming_it(policy, priority):
    with pytest.raises(ValueError, match=f"unknown priority {priority!r}") as raised:
        policy.sla_due(shanghai(2026, 3, 3, 10), priority)
    assert "P1, P2, P3, P4" in str(raised.value)


def test_a_policy_without_slas_knows_no_priority():
    with pytest.raises(ValueError, match="unknown priority 'P1'"):
        load_policy(_WITHOUT_SLA).sla_due(london(2026, 3, 3, 10), "P1")


# --- long durations -----------------------------------------------------------------------------------


def test_two_hundred_business_hours(calendar):
    # Mon 2 March 09:00: 200 = 22 full days + 2 h. March 2026 has no holidays in China; the 22nd
    # business day is Tue 31 March (2-6, 9-13, 16-20, 23-27 March: 20; 30, 31: 22), so Wed 1 April 11:00.
    assert calendar.add_business_hours(shanghai(2026, 3, 2, 9), 200) == shanghai(2026, 4, 1, 11)


def test_twenty_business_days_over_the_national_day(policy):
    # Wed 30 Sept 09:00: Sep 30 (1), Oct 8, 9, Sat 10 (4), 12-16 (9), 19-23 (14), 26-30 (19), Mon 2 Nov (20).
    assert policy.due(shanghai(2026, 9, 30, 9), Duration(business_days=20)) == shanghai(2026, 11, 2, 18)


def test_long_durations_step_a_day_at_a_time(calendar, monkeypatch):
    looked_up = []
    original = policy_module._holidays

    def counting(country, year):
        looked_up.append(year)
        return original(country, year)

    monkeypatch.setattr(policy_module, "_holidays", counting)

    calendar.add_business_hours(shanghai(2026, 3, 2, 9), 200)
    assert len(looked_up) == 31  # 2 March to 1 April, one look-up per day

    looked_up.clear()
    # 3,000 business hours from Mon 5 January 09:00 = 333 full days + 3 h: 12:00 on the 334th business day.
    start = shanghai(2026, 1, 5, 9)
    due = calendar.add_business_hours(start, 3000)
    days = (due.date() - start.date()).days + 1
    assert len(looked_up) == days < 500
    assert due.time().isoformat() == "12:00:00"
    business_days = [start.date() + timedelta(days=n) for n in range(days)]
    assert sum(calendar.is_business_day(day) for day in business_days) == 334
    assert calendar.is_business_day(due.date())


def _brute_force(calendar, start: datetime, minutes: int) -> datetime:
    """Minute by minute: the first instant by which `minutes` working minutes have passed."""
    zone = ZoneInfo(calendar.timezone)
    moment = start.astimezone(zone)
    while minutes:
        local = moment.astimezone(zone)
        opening = local.replace(hour=9, minute=0, second=0, microsecond=0)
        closing = local.replace(hour=18, minute=0, second=0, microsecond=0)
        if calendar.is_business_day(local.date()) and opening <= local < closing:
            minutes -= 1
        moment = (moment.astimezone(UTC) + timedelta(minutes=1)).astimezone(zone)
    return moment


@pytest.mark.parametrize(
    ("start", "minutes"),
    [
        (shanghai(2026, 9, 24, 16, 17), 17 * 60 + 13),
        (shanghai(2026, 9, 30, 8, 1), 30 * 60),
        (shanghai(2026, 10, 9, 17, 59), 9 * 60 + 2),
        (shanghai(2026, 3, 6, 12, 34), 9 * 60),
    ],
)
def test_add_business_hours_agrees_with_counting_minute_by_minute(calendar, start, minutes):
    assert calendar.add_business_hours(start, minutes / 60) == _brute_force(calendar, start, minutes)
