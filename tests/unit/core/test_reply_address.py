"""Signed reply addresses: a reply finds its case by the address it was sent to; a typed ticket number, a
forged or altered token, or another key finds none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints.core.ids import ALPHABET
from complaints.core.reply_address import case_of, reply_address

KEY = b"reply-address-test-key"
ID = "CMP-20261201-7K3QZ9"


def test_a_reply_to_the_cases_address_finds_the_case():
    address = reply_address("complaints@example.com", ID, KEY)

    assert address.startswith("complaints+") and address.endswith("@example.com")
    assert len(address.partition("@")[0]) <= 64  # an email address's local part
    assert case_of(address, KEY) == ID


def test_the_address_survives_a_mail_system_that_folds_its_case():
    address = reply_address("complaints@example.com", ID, KEY)

    assert case_of(address.upper(), KEY) == ID
    assert case_of(f"  {address.lower()} ", KEY) == ID


def test_a_plain_address_or_a_ticket_number_typed_in_finds_no_case():
    assert case_of("complaints@example.com", KEY) is None
    assert case_of(f"complaints+{ID}@example.com", KEY) is None
    assert case_of("complaints+20261201-7k3qz9@example.com", KEY) is None


def test_an_altered_token_or_another_key_finds_no_case():
    address = reply_address("complaints@example.com", ID, KEY)
    local, _, domain = address.partition("@")
    other_case = local.replace("7k3qz9", "7k3qz8")
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b")

    assert case_of(f"{other_case}@{domain}", KEY) is None
    assert case_of(f"{flipped}@{domain}", KEY) is None
    assert case_of(address, b"another key") is None


def test_the_mailbox_keeps_its_own_name_and_loses_any_tag():
    assert reply_address("help+old@example.org", ID, KEY).startswith("help+")
    assert "+old" not in reply_address("help+old@example.org", ID, KEY)
    with pytest.raises(ValueError):
        reply_address("not an address", ID, KEY)
    with pytest.raises(ValueError):
        reply_address("complaints@example.com", "CMP-1", KEY)


@given(
    day=st.dates().map(lambda d: d.strftime("%Y%m%d")).filter(lambda d: len(d) == 8),
    code=st.text(alphabet=ALPHABET, min_size=6, max_size=6),
)
def test_every_ticket_id_round_trips(day, code):
    complaint_id = f"CMP-{day}-{code}"
    assert case_of(reply_address("complaints@example.com", complaint_id, KEY), KEY) == complaint_id
