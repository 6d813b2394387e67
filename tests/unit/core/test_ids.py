"""Complaint ids and access codes: what the complainant reads, types back and keeps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from complaints.core import ids
from complaints.core.ids import COMPLAINT_ID

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_FORMAT = re.compile(r"^CMP-(\d{8})-([0-9A-HJKMNP-TV-Z]{6})$")
CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_the_alphabet_is_crockford_base32_without_confusable_letters():
    assert ids.ALPHABET == CROCKFORD
    assert not set("ILOU") & set(ids.ALPHABET)


@pytest.mark.parametrize(
    ("now", "date"),
    [
        (datetime(2026, 3, 5, 10, 0, tzinfo=UTC), "20260305"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "20261231"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "20270101"),
    ],
)
def test_a_complaint_id_carries_the_date_of_now_and_six_crockford_characters(now, date):
    complaint_id = ids.new_complaint_id(now)

    match = ID_FORMAT.fullmatch(complaint_id)
    assert match, complaint_id
    assert match.group(1) == date


def test_the_date_in_the_id_is_the_date_of_now_in_its_own_zone():
    shanghai = timezone(timedelta(hours=8))
    assert ids.new_complaint_id(datetime(2026, 3, 6, 7, 30, tzinfo=shanghai)).startswith("CMP-20260306-")


def test_generated_ids_are_accepted_by_the_status_lookup_pattern():
    now = datetime(2026, 3, 5, tzinfo=UTC)
    assert all(COMPLAINT_ID.match(ids.new_complaint_id(now)) for _ in range(200))


def test_a_thousand_ids_on_one_day_are_distinct_and_use_the_whole_alphabet():
    now = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    drawn = [ids.new_complaint_id(now) for _ in range(1000)]

    # 30 random bits a day: by the birthday bound one repeat among 1000 has probability ~5e-4 (intake
    # draws again on a collision), two repeats ~1e-7. A generator with less randomness fails here.
    assert len(set(drawn)) >= 999
    used = {char for complaint_id in drawn for char in complaint_id.rsplit("-", 1)[1]}
    assert used == set(CROCKFORD)


def test_access_codes_are_four_groups_of_four_and_distinct():
    codes = [ids.new_access_code() for _ in range(1000)]

    for code in codes:
        assert CODE_FORMAT.fullmatch(code), code
    assert len(set(codes)) == 1000  # 80 random bits each


@pytest.fixture
def code() -> str:
    return ids.new_access_code()


def test_the_stored_hash_is_not_the_code(code):
    stored = ids.hash_access_code(code)

    assert code not in stored
    assert code.replace("-", "") not in stored
    assert re.fullmatch(r"[0-9a-f]{64}", stored)


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code,
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " "),
        lambda code: code.lower().replace("-", ""),
        lambda code: f"  {code}\n",
        lambda code: code.replace("-", " - "),
    ],
    ids=["as-shown", "lower-case", "no-dashes", "spaces", "lower-no-dashes", "padded", "spaced-dashes"],
)
def test_the_code_is_accepted_however_it_is_typed(code, typed):
    assert ids.access_code_matches(typed(code), ids.hash_access_code(code))


def test_a_wrong_code_is_rejected(code):
    stored = ids.hash_access_code(code)
    other = ids.new_access_code()
    while other == code:
        other = ids.new_access_code()

    assert not ids.access_code_matches(other, stored)
    assert not ids.access_code_matches(code[:-1], stored)
    assert not ids.access_code_matches(code + "0", stored)


@pytest.mark.parametrize("typed", ["", None])
def test_an_empty_code_is_rejected(code, typed):
    assert not ids.access_code_matches(typed, ids.hash_access_code(code))


def test_an_empty_code_does_not_match_the_hash_of_an_empty_code():
    assert not ids.access_code_matches("", ids.hash_access_code(""))


def test_fingerprints_are_stable_and_separate_their_parts():
    assert ids.fingerprint("a", "b") == ids.fingerprint("a", "b")
    assert ids.fingerprint("ab", "c") != ids.fingerprint("a", "bc")
    assert ids.fingerprint("alice@example.com", "text") != ids.fingerprint("bob@example.com", "text")
