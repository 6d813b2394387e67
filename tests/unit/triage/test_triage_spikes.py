"""Spike detection: this hour's count against max(threshold, factor x trailing hourly average), and
the UTC hour buckets it counts in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from complaints.core.rules import SpikePolicy, load_triage_policy
from complaints.triage.rules import hour_bucket, spike_check, trailing_buckets


@pytest.fixture(scope="module")
def rules() -> SpikePolicy:
    return load_triage_policy().spikes


def quiet(rules: SpikePolicy) -> list[int]:
    return [0] * rules.trailing_hours


def busy(rules: SpikePolicy, per_hour: int) -> list[int]:
    return [per_hour] * rules.trailing_hours


# ------------------------------------------------------------------ spike_check


def test_the_packaged_rules_are_those_the_tests_assume(rules):
    assert (rules.threshold, rules.factor, rules.trailing_hours, rules.example_ids) == (10, 3, 24, 5)


def test_with_no_history_the_threshold_is_the_limit(rules):
    below = spike_check(rules, "payments", "2026-03-05T10", 9, quiet(rules))
    at = spike_check(rules, "payments", "2026-03-05T10", 10, quiet(rules))

    assert below.baseline == 0
    assert below.limit == 10
    assert not below.is_spike
    assert at.is_spike  # exactly at the limit counts


def test_with_missing_hours_the_average_is_over_all_trailing_hours(rules):
    # 48 complaints in one earlier hour and none in the other 23: an average of 2 per hour.
    check = spike_check(rules, "payments", "2026-03-05T10", 10, [48])

    assert check.baseline == 2
    assert check.limit == 10  # 3 x 2 = 6 is under the threshold


def test_a_busy_category_is_measured_against_factor_times_its_average(rules):
    trailing = busy(rules, 8)  # 8 per hour: the limit is 3 x 8 = 24

    assert spike_check(rules, "settlement", "2026-03-05T10", 10, trailing).is_spike is False
    assert spike_check(rules, "settlement", "2026-03-05T10", 23, trailing).is_spike is False
    at_limit = spike_check(rules, "settlement", "2026-03-05T10", 24, trailing)
    assert at_limit.baseline == 8
    assert at_limit.limit == 24
    assert at_limit.is_spike


def test_a_fractional_average_gives_a_fractional_limit(rules):
    trailing = [4] * 12 + [3] * 12  # 84 / 24 = 3.5 per hour: the limit is 10.5

    check = spike_check(rules, "technical", "2026-03-05T10", 10, trailing)

    assert check.baseline == 3.5
    assert check.limit == 10.5
    assert not check.is_spike
    assert spike_check(rules, "technical", "2026-03-05T10", 11, trailing).is_spike


def test_the_check_names_what_it_measured(rules):
    check = spike_check(rules, "fairness", "2026-03-05T10", 12, quiet(rules))

    assert (check.category, check.hour, check.count) == ("fairness", "2026-03-05T10", 12)


# ------------------------------------------------------------------ hour buckets


def test_an_hour_bucket_is_the_date_and_hour():
    assert hour_bucket(datetime(2026, 3, 5, 10, 59, 59, tzinfo=UTC)) == "2026-03-05T10"
    assert hour_bucket(datetime(2026, 3, 5, 10, 0, tzinfo=UTC)) == "2026-03-05T10"
    assert hour_bucket(datetime(2026, 3, 5, 0, 0, tzinfo=UTC)) == "2026-03-05T00"


def test_trailing_buckets_are_the_previous_hours_newest_first(rules):
    buckets = trailing_buckets(datetime(2026, 3, 5, 10, 30, tzinfo=UTC), 3)

    assert buckets == ["2026-03-05T09", "2026-03-05T08", "2026-03-05T07"]


def test_trailing_buckets_cross_midnight():
    buckets = trailing_buckets(datetime(2026, 3, 5, 1, 15, tzinfo=UTC), 4)

    assert buckets == ["2026-03-05T00", "2026-03-04T23", "2026-03-04T22", "2026-03-04T21"]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 3, 1, 0, 5, tzinfo=UTC), ["2026-02-28T23", "2026-02-28T22"]),  # not a leap year
        (datetime(2028, 3, 1, 0, 5, tzinfo=UTC), ["2028-02-29T23", "2028-02-29T22"]),  # a leap year
        (datetime(2026, 5, 1, 0, 0, tzinfo=UTC), ["2026-04-30T23", "2026-04-30T22"]),
        (datetime(2027, 1, 1, 0, 59, tzinfo=UTC), ["2026-12-31T23", "2026-12-31T22"]),
    ],
)
def test_trailing_buckets_cross_month_and_year_ends(at, expected):
    assert trailing_buckets(at, 2) == expected


def test_there_are_as_many_trailing_buckets_as_trailing_hours_all_distinct_and_none_the_current(rules):
    at = datetime(2026, 3, 31, 23, 45, tzinfo=UTC)

    buckets = trailing_buckets(at, rules.trailing_hours)

    assert len(buckets) == rules.trailing_hours == 24
    assert len(set(buckets)) == 24
    assert hour_bucket(at) not in buckets
    assert buckets[0] == "2026-03-31T22"
    assert buckets[-1] == "2026-03-30T23"
