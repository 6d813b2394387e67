"""Priority scoring with the packaged triage policy: each contribution, the P1-P4 bands at their
boundaries, security always P1, and a breakdown that explains the score exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from complaints.core.models import AmountIn
from complaints.core.rules import PriorityPolicy, load_triage_policy
from complaints.triage.rules import score_priority


@pytest.fixture(scope="module")
def rules() -> PriorityPolicy:
    return load_triage_policy().priority


def money(value: str, currency: str = "CNY") -> AmountIn:
    return AmountIn(value=Decimal(value), currency=currency)


def score(rules, category="technical", amount=None, earlier=0, threats=(), tier=None):
    return score_priority(rules, category, amount, earlier, list(threats), tier)


def points(result) -> dict[str, int]:
    return {part.reason: part.points for part in result.breakdown}


# ------------------------------------------------------------------ contributions


@pytest.mark.parametrize(
    ("category", "expected"),
    [("security", 100), ("fairness", 30), ("payments", 25), ("account", 20), ("technical", 10), ("other", 5)],
)
def test_each_category_brings_its_points(rules, category, expected):
    result = score(rules, category)

    assert result.score == expected
    assert [(p.reason, p.detail, p.points) for p in result.breakdown] == [("category", category, expected)]


def test_an_unknown_category_brings_no_points(rules):
    result = score(rules, "astrology")

    assert result.score == 0
    assert result.priority == "P4"


@pytest.mark.parametrize(
    ("value", "expected", "detail"),
    [
        ("0.00", None, None),
        ("99.99", None, None),
        ("100.00", 10, ">= 100"),
        ("999.99", 10, ">= 100"),
        ("1000.00", 25, ">= 1000"),
        ("9999.99", 25, ">= 1000"),
        ("10000.00", 40, ">= 10000"),
        ("2500000.00", 40, ">= 10000"),
    ],
)
def test_the_amount_counts_by_the_highest_step_it_reaches(rules, value, expected, detail):
    result = score(rules, "technical", amount=money(value))

    amount_parts = [p for p in result.breakdown if p.reason == "amount"]
    if expected is None:
        assert amount_parts == []
        assert result.score == 10
    else:
        assert [(p.detail, p.points) for p in amount_parts] == [(detail, expected)]
        assert result.score == 10 + expected


def test_the_amount_counts_whatever_the_currency(rules):
    assert points(score(rules, amount=money("1000.00", "USD")))["amount"] == 25
    assert points(score(rules, amount=money("1000.00", "EUR")))["amount"] == 25


def test_no_amount_brings_no_points(rules):
    assert "amount" not in points(score(rules, amount=None))


def test_one_earlier_complaint_is_not_a_repeat_complainant_but_two_are(rules):
    once = score(rules, earlier=1)
    twice = score(rules, earlier=2)

    assert "repeat_complainant" not in points(once)
    assert once.score == 10
    (repeat,) = [p for p in twice.breakdown if p.reason == "repeat_complainant"]
    assert repeat.points == 15
    assert repeat.detail == "2 in 30 days"
    assert twice.score == 25


def test_threats_add_their_points_once_and_name_the_phrases(rules):
    one = score(rules, threats=["regulator"])
    two = score(rules, threats=["regulator", "lawyer"])

    assert points(one)["threat"] == 30
    assert points(two)["threat"] == 30  # not per phrase
    (threat,) = [p for p in two.breakdown if p.reason == "threat"]
    assert threat.detail == "regulator, lawyer"
    assert two.score == 40


@pytest.mark.parametrize("tier", ["vip", "VIP", "Gold", "platinum", "DIAMOND"])
def test_a_vip_tier_adds_points_whatever_its_case(rules, tier):
    result = score(rules, tier=tier)

    (vip,) = [p for p in result.breakdown if p.reason == "vip"]
    assert vip.points == 20
    assert vip.detail == tier.lower()
    assert result.score == 30


@pytest.mark.parametrize("tier", ["bronze", "silver", "", None, "gold member"])
def test_an_unknown_or_missing_tier_is_ignored(rules, tier):
    result = score(rules, tier=tier)

    assert "vip" not in points(result)
    assert result.score == 10


# ------------------------------------------------------------------ bands


@pytest.mark.parametrize(
    ("kwargs", "expected_score", "band"),
    [
        ({"category": "account"}, 20, "P4"),
        ({"category": "payments"}, 25, "P3"),  # exactly the P3 line
        ({"category": "account", "amount": money("1000.00")}, 45, "P3"),
        ({"category": "payments", "amount": money("1000.00")}, 50, "P2"),  # exactly the P2 line
        ({"category": "fairness", "amount": money("1000.00"), "tier": "gold"}, 75, "P2"),
        ({"category": "fairness", "threats": ["lawyer"], "tier": "gold"}, 80, "P1"),  # exactly P1
        (
            {
                "category": "payments",
                "amount": money("50000.00"),
                "earlier": 3,
                "threats": ["police"],
                "tier": "vip",
            },
            130,
            "P1",
        ),
    ],
)
def test_the_score_falls_into_its_band(rules, kwargs, expected_score, band):
    result = score(rules, **kwargs)

    assert result.score == expected_score
    assert result.priority == band


def test_the_lowest_possible_score_is_p4(rules):
    result = score(rules, "policy", amount=money("1.00"), earlier=1, tier="bronze")

    assert (result.priority, result.score) == ("P4", 5)


def test_a_security_incident_is_p1_with_nothing_else_to_it(rules):
    result = score(rules, "security", amount=money("1.00"))

    assert result.priority == "P1"
    assert result.score == 100


def test_a_security_incident_is_p1_even_when_its_category_earns_no_points(rules):
    no_points = rules.model_copy(update={"category_points": {**rules.category_points, "security": 0}})

    result = score(no_points, "security")

    assert result.score == 0
    assert result.priority == "P1"
    # Any other category with the same score is the lowest band.
    assert score(no_points, "astrology").priority == "P4"


# ------------------------------------------------------------------ breakdown


def test_the_breakdown_lists_exactly_what_applied_and_sums_to_the_score(rules):
    result = score(
        rules, "settlement", amount=money("150.00"), earlier=1, threats=["ombudsman"], tier="silver"
    )

    assert [(p.reason, p.points) for p in result.breakdown] == [
        ("category", 25),
        ("amount", 10),
        ("threat", 30),
    ]
    assert sum(p.points for p in result.breakdown) == result.score == 65
    assert result.priority == "P2"


def test_every_contribution_is_listed_once_when_all_apply(rules):
    result = score(rules, "fairness", amount=money("10000.00"), earlier=2, threats=["court"], tier="platinum")

    assert [p.reason for p in result.breakdown] == [
        "category",
        "amount",
        "repeat_complainant",
        "threat",
        "vip",
    ]
    assert sum(p.points for p in result.breakdown) == result.score == 30 + 40 + 15 + 30 + 20
