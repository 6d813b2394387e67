"""Abuse of the acknowledgement on the fakes: anyone may name any address and any name, so names that carry
links or look implausible are not mailed, and one address gets at most five acknowledgements an hour."""

from __future__ import annotations

import pytest

from complaints.core.errors import MailRejected
from complaints.core.models import ComplaintIn
from complaints.intake.service import IntakeService
from complaints.presentation.email import plain_name

CUSTOMER = "alice@example.com"


# ------------------------------------------------------------------ abuse of the acknowledgement

SPAM_NAME = "Winner! Claim your prize at http://evil.example/claim?id=1"
VICTIM = "victim@example.org"


def submit_as(intake: IntakeService, name: str | None, email: str, text: str):
    customer = {"email": email} | ({"name": name} if name else {})
    document = {"customer": customer, "description": text, "channel": "api"}
    return intake.submit(ComplaintIn.model_validate(document)).accepted


def test_the_reported_spam_name_is_not_mailed_out(intake, acknowledger, mailer):
    accepted = submit_as(intake, SPAM_NAME, VICTIM, "Prize.")

    acknowledger.acknowledge(accepted.complaintId)

    email = mailer.sent[0]
    for part in (email.text, email.html):
        assert "Dear customer," in part
        assert "Winner" not in part
        assert "evil" not in part
        assert "http://evil" not in part


@pytest.mark.parametrize(
    "name",
    [
        SPAM_NAME,
        "evil.example",
        "Visit evil.example now",
        "www dot evil",  # harmless words are fine: see the next test
        "Alice <alice@evil.example>",
        "Call 555 0100",
        "Alice: see https://x",
        "x" * 61,
        "...",
    ],
)
def test_names_carrying_links_or_implausible_are_not_used(name):
    expected = {"www dot evil": "www dot evil"}.get(name)
    assert plain_name(name) == expected


@pytest.mark.parametrize(
    "name",
    ["Alice", "李娜", "Jean-Luc O'Neill", "J. R. R. Tolkien", "María José García", "José  Ñúñez", "O’Brien"],
)
def test_real_names_are_kept(name):
    assert plain_name(name) == " ".join(name.split())


def test_an_address_gets_five_acknowledgements_an_hour_and_the_rest_are_withheld(
    intake, acknowledger, mailer, repository, clock
):
    accepted = [submit_as(intake, "Victim", VICTIM, f"Complaint {n}.") for n in range(7)]

    results = [acknowledger.acknowledge(a.complaintId) for a in accepted]

    assert len(mailer.to(VICTIM)) == 5
    assert [r.sent for r in results] == [True] * 5 + [False] * 2
    assert [r.withheld for r in results] == [False] * 5 + [True] * 2
    case, events = repository.get(accepted[5].complaintId)
    assert case.acknowledged_at is None and case.ack_suppressed_at is not None
    assert case.pending_access_code is None  # the clear code is forgotten all the same
    assert events[-1].type == "ACK_WITHHELD"
    view = intake.status(accepted[5].complaintId, accepted[5].accessCode)  # the case is there
    assert view.timeline[-1].detail == (
        "No acknowledgement email was sent: this address had 5 acknowledgements in the past hour already."
    )
    assert [key for key in repository.mail_counters] and all(
        VICTIM not in recipient for recipient, _hour in repository.mail_counters
    )


def test_other_addresses_are_not_held_back_and_the_next_hour_starts_again(
    intake, acknowledger, mailer, clock
):
    for n in range(6):
        acknowledger.acknowledge(submit_as(intake, None, VICTIM, f"Complaint {n}.").complaintId)
    acknowledger.acknowledge(submit_as(intake, None, CUSTOMER, "Mine.").complaintId)
    assert len(mailer.to(VICTIM)) == 5
    assert len(mailer.to(CUSTOMER)) == 1

    clock.advance(3600)
    acknowledger.acknowledge(submit_as(intake, None, VICTIM, "Next hour.").complaintId)

    assert len(mailer.to(VICTIM)) == 6


def test_a_withheld_acknowledgement_stays_withheld_when_the_step_is_retried(
    intake, acknowledger, mailer, clock
):
    accepted = [submit_as(intake, None, VICTIM, f"Complaint {n}.") for n in range(6)]
    for a in accepted:
        acknowledger.acknowledge(a.complaintId)
    clock.advance(3600)

    again = acknowledger.acknowledge(accepted[5].complaintId)

    assert again.withheld and not again.sent
    assert len(mailer.to(VICTIM)) == 5


def test_a_retried_acknowledgement_counts_once(intake, acknowledger, mailer, repository):
    accepted = submit_as(intake, None, VICTIM, "Complaint.")
    mailer.reject_to = {VICTIM}
    for _ in range(3):
        with pytest.raises(MailRejected):
            acknowledger.acknowledge(accepted.complaintId)
    mailer.reject_to = set()

    assert acknowledger.acknowledge(accepted.complaintId).sent
    assert list(repository.mail_counters.values()) == [1]
