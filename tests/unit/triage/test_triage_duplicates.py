"""Duplicates: text similarity on character trigrams, and which of a customer's recent cases a new
complaint repeats (by reference first, then by near-identical text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from complaints.core.ids import hash_access_code
from complaints.core.models import Case, CaseSummary, CustomerIn, Status
from complaints.core.rules import DuplicatePolicy, load_triage_policy
from complaints.triage.rules import find_duplicate, text_similarity

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
CHINESE = "充值成功但是余额一直没有增加，订单号找不到，请尽快处理。"
ENGLISH = "My card was charged twice for order 17 and the refund I was promised never came."


@pytest.fixture(scope="module")
def rules() -> DuplicatePolicy:
    return load_triage_policy().duplicates


def new_case(
    description: str = "Something new happened today.",
    references: dict[str, str] | None = None,
    complaint_id: str = "CMP-20260305-NEW000",
    at: datetime = NOW,
) -> Case:
    return Case(
        complaint_id=complaint_id,
        status=Status.RECEIVED,
        created_at=at,
        updated_at=at,
        channel="api",
        locale="en",
        customer=CustomerIn(email="alice@example.com"),
        description=description,
        references=references or {},
        access_code_hash=hash_access_code("X"),
        response_due_at=at + timedelta(weeks=8),
    )


def earlier(
    complaint_id: str,
    days_ago: float = 1,
    status: Status = Status.TRIAGED,
    references: dict[str, str] | None = None,
    description: str = "An unrelated matter about a bonus.",
) -> CaseSummary:
    return CaseSummary(
        complaint_id=complaint_id,
        status=status,
        created_at=NOW - timedelta(days=days_ago),
        references=references or {},
        description=description,
    )


# ------------------------------------------------------------------ text similarity


def test_identical_text_is_fully_similar():
    assert text_similarity(ENGLISH, ENGLISH) == 1.0
    assert text_similarity(CHINESE, CHINESE) == 1.0


def test_chinese_without_spaces_with_a_few_more_characters_is_near_identical():
    assert text_similarity(CHINESE, CHINESE + "谢谢") >= 0.9


def test_punctuation_case_and_whitespace_are_ignored():
    shouted = "  MY CARD was charged   twice -- for order 17, and the REFUND I was promised never came!!  "
    assert text_similarity(ENGLISH, shouted) == 1.0
    assert text_similarity(CHINESE, CHINESE.replace("，", " ").replace("。", "")) == 1.0


def test_unrelated_text_is_not_similar():
    assert text_similarity(ENGLISH, "The app crashes whenever I open the live casino lobby.") < 0.2
    assert text_similarity(CHINESE, "游戏一直卡顿，无法登录账户。") < 0.2


@pytest.mark.parametrize(("first", "second"), [("", ENGLISH), (ENGLISH, ""), ("", ""), ("!!! ...", ENGLISH)])
def test_empty_text_is_similar_to_nothing(first, second):
    assert text_similarity(first, second) == 0.0


def test_similarity_is_symmetric():
    other = ENGLISH.replace("17", "18")
    assert text_similarity(ENGLISH, other) == text_similarity(other, ENGLISH)
    assert 0 < text_similarity(ENGLISH, other) < 1


# ------------------------------------------------------------------ find_duplicate


def test_the_same_reference_value_under_another_name_and_case_is_a_match(rules):
    case = new_case(references={"ticket": " b-77 "})
    recent = [earlier("CMP-20260304-AAAAAA", references={"betId": "B-77"})]

    match = find_duplicate(rules, case, recent, NOW)

    assert match is not None
    assert (match.complaint_id, match.reason, match.detail) == ("CMP-20260304-AAAAAA", "reference", "betId")


def test_a_reference_match_wins_over_a_text_match(rules):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    recent = [
        earlier("CMP-20260301-TEXT00", days_ago=4, description=ENGLISH),  # older, same text
        earlier("CMP-20260304-REF000", days_ago=1, references={"order": "o-17"}),
    ]

    match = find_duplicate(rules, case, recent, NOW)

    assert match is not None
    assert (match.complaint_id, match.reason) == ("CMP-20260304-REF000", "reference")


def test_near_identical_text_is_a_match_with_its_similarity(rules):
    case = new_case(description=CHINESE + "谢谢")
    recent = [earlier("CMP-20260304-AAAAAA", description=CHINESE)]

    match = find_duplicate(rules, case, recent, NOW)

    assert match is not None
    assert (match.complaint_id, match.reason) == ("CMP-20260304-AAAAAA", "text")
    assert float(match.detail) >= 0.9


def test_different_references_and_different_text_are_no_match(rules):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    recent = [earlier("CMP-20260304-AAAAAA", references={"orderId": "O-18"})]

    assert find_duplicate(rules, case, recent, NOW) is None


def test_an_earlier_case_outside_the_14_day_window_is_no_match(rules):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    just_inside = earlier("CMP-20260219-INSIDE", days_ago=14, references={"orderId": "O-17"})
    outside = earlier(
        "CMP-20260219-OUTSDE", days_ago=14 + 1 / 86400, references={"orderId": "O-17"}, description=ENGLISH
    )

    assert find_duplicate(rules, case, [outside], NOW) is None
    match = find_duplicate(rules, case, [outside, just_inside], NOW)
    assert match is not None
    assert match.complaint_id == "CMP-20260219-INSIDE"


@pytest.mark.parametrize("status", [Status.CLOSED, Status.RELATED])
def test_a_closed_or_related_earlier_case_is_no_match(rules, status):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    recent = [
        earlier("CMP-20260304-AAAAAA", status=status, references={"orderId": "O-17"}, description=ENGLISH)
    ]

    assert find_duplicate(rules, case, recent, NOW) is None


@pytest.mark.parametrize(
    "status", [Status.RECEIVED, Status.TRIAGED, Status.INVESTIGATING, Status.NEEDS_ATTENTION]
)
def test_an_open_earlier_case_in_any_open_status_matches(rules, status):
    case = new_case(references={"orderId": "O-17"})
    recent = [earlier("CMP-20260304-AAAAAA", status=status, references={"orderId": "O-17"})]

    match = find_duplicate(rules, case, recent, NOW)

    assert match is not None
    assert match.complaint_id == "CMP-20260304-AAAAAA"


def test_a_case_is_never_its_own_duplicate(rules):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    itself = CaseSummary(
        complaint_id=case.complaint_id,
        status=Status.RECEIVED,
        created_at=case.created_at,
        references=dict(case.references),
        description=case.description,
    )

    assert find_duplicate(rules, case, [itself], NOW) is None


def test_the_oldest_matching_open_case_is_chosen(rules):
    case = new_case(description=ENGLISH, references={"orderId": "O-17"})
    newest_first = [  # as the customer index returns them
        earlier("CMP-20260304-NEWEST", days_ago=1, references={"orderId": "O-17"}),
        earlier("CMP-20260302-CLOSED", days_ago=3, status=Status.CLOSED, references={"orderId": "O-17"}),
        earlier("CMP-20260301-OLDEST", days_ago=4, references={"ref": "o-17"}),
        earlier("CMP-20260225-UNRELA", days_ago=8),
    ]

    match = find_duplicate(rules, case, newest_first, NOW)

    assert match is not None
    assert match.complaint_id == "CMP-20260301-OLDEST"


def test_the_oldest_near_identical_text_is_chosen(rules):
    case = new_case(description=ENGLISH)
    newest_first = [
        earlier("CMP-20260304-NEWEST", days_ago=1, description=ENGLISH),
        earlier("CMP-20260301-OLDEST", days_ago=4, description=ENGLISH + " Please!"),
    ]

    match = find_duplicate(rules, case, newest_first, NOW)

    assert match is not None
    assert (match.complaint_id, match.reason) == ("CMP-20260301-OLDEST", "text")


def test_a_complaint_without_references_matches_on_text_only(rules):
    case = new_case(description="Completely different words here.")
    recent = [earlier("CMP-20260304-AAAAAA", references={"orderId": "O-17"})]

    assert find_duplicate(rules, case, recent, NOW) is None


def test_a_complaint_is_not_linked_to_a_case_filed_after_it(rules):
    # Complaint A was filed first; B, with the same reference, an hour later. A's triage runs late
    # (a retry, or the reconciler started it), when B is already stored and still RECEIVED.
    case_a = new_case(references={"orderId": "O-17"}, at=NOW - timedelta(hours=2))
    later_b = CaseSummary(
        complaint_id="CMP-20260305-LATERB",
        status=Status.RECEIVED,
        created_at=NOW - timedelta(hours=1),
        references={"orderId": "O-17"},
        description="Same order again.",
    )

    assert find_duplicate(rules, case_a, [later_b], NOW) is None
