"""ResolutionService on the in-memory fakes: the remedy paid once through the ledger, the customer
asked whether it is resolved, their answer (or silence) acted on, the final response letter, and
closure with its archive record."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from complaints.classification.classifier import RuleClassifier
from complaints.classification.taxonomy import load_taxonomy
from complaints.core.errors import LedgerUnavailable, TransientError
from complaints.core.models import ComplaintIn, Status
from complaints.core.reply_address import case_of
from complaints.core.tasks import LinkStatus
from complaints.resolution.service import ResolutionService
from complaints.triage.service import TriageService
from tests.fakes import FakeInvestigationRepository, FakeLedger, make_settings

KEY = b"unit-test-signing-key"
REFUND = {
    "summary": "The bank returned the withdrawal.",
    "remedy": "refund",
    "amount": "150.00",
    "currency": "CNY",
    "customerMessage": "We refund the 150 CNY to your account.",
}
EXPLANATION = {
    "summary": "The withdrawal is on its way.",
    "remedy": "explanation",
    "customerMessage": "Your bank takes three days to credit it.",
}
YES = {"resolved": "yes", "rating": 5}
NO = {"resolved": "no", "rating": 1, "comment": "Still not paid."}


@pytest.fixture
def repository() -> FakeInvestigationRepository:
    return FakeInvestigationRepository()


@pytest.fixture
def settings():
    return make_settings(time_scale=60.0)


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def service(repository, ledger, mailer, policy, triage_policy, settings, clock) -> ResolutionService:
    resolution = triage_policy.resolution
    return ResolutionService(repository, ledger, mailer, policy, resolution, settings, KEY, clock, repository)


def triaged(intake, repository, policy, triage_policy, mailer, settings, clock, locale=None) -> str:
    taxonomy = load_taxonomy()
    triage = TriageService(
        repository, RuleClassifier(taxonomy), taxonomy, policy, triage_policy, mailer, settings, clock=clock
    )
    customer = {"email": "alice@example.com", "name": "Alice"}
    if locale:
        customer["locale"] = locale
    document = {
        "customer": customer,
        "description": "My withdrawal of 150 has not arrived in my bank account.",
        "amount": {"value": "150.00", "currency": "CNY"},
    }
    complaint_id = intake.submit(ComplaintIn.model_validate(document)).accepted.complaintId
    triage.triage(complaint_id)
    mailer.sent.clear()
    return complaint_id


def resolving(repository, complaint_id: str, findings: dict) -> None:
    """The case as the investigation leaves it: findings approved, the remedy next."""
    stored = repository.cases[complaint_id]
    repository.cases[complaint_id] = stored.model_copy(
        update={"status": Status.RESOLVING, "findings": dict(findings), "version": stored.version + 1}
    )


def asked(repository, complaint_id: str) -> str:
    """The case as ask_customer leaves it: AWAITING_CONFIRMATION, the customer's link emailed."""
    stored = repository.cases[complaint_id]
    repository.cases[complaint_id] = stored.model_copy(
        update={"status": Status.AWAITING_CONFIRMATION, "version": stored.version + 1}
    )
    return complaint_id


@pytest.fixture
def complaint_id(intake, repository, policy, triage_policy, mailer, settings, clock) -> str:
    """A finance case (assigned to fin-wang) with an approved refund of 150 CNY."""
    complaint_id = triaged(intake, repository, policy, triage_policy, mailer, settings, clock)
    resolving(repository, complaint_id, REFUND)
    return complaint_id


# ------------------------------------------------------------------ the remedy


def test_a_money_remedy_is_paid_through_the_ledger_once_and_recorded(
    service, repository, ledger, settings, complaint_id
):
    result = service.apply_remedy(complaint_id)

    assert ledger.calls == [(complaint_id, f"{complaint_id}-R1", "refund", Decimal("150.00"), "CNY")]
    assert result.model_dump() == {
        "complaintId": complaint_id,
        "reference": f"PAY-{complaint_id}-R1",
        "answerSeconds": round(7 * 86400 / settings.time_scale),
    }
    case = repository.cases[complaint_id]
    assert (case.remedy_ref, case.remedy_count) == (f"PAY-{complaint_id}-R1", 1)
    assert case.remedy_applied_at is not None
    assert repository.event_types(complaint_id).count("REMEDY_APPLIED") == 1


def test_a_retried_remedy_pays_nothing_more_and_returns_the_same_reference(
    service, repository, ledger, complaint_id
):
    first = service.apply_remedy(complaint_id)
    version = repository.cases[complaint_id].version

    again = service.apply_remedy(complaint_id)

    assert again == first
    assert len(ledger.calls) == 1
    assert len(ledger.payments) == 1
    assert repository.cases[complaint_id].version == version
    assert repository.event_types(complaint_id).count("REMEDY_APPLIED") == 1


def test_an_explanation_pays_nothing(service, repository, ledger, complaint_id):
    resolving(repository, complaint_id, EXPLANATION)

    result = service.apply_remedy(complaint_id)

    assert result.reference == "none"
    assert ledger.calls == []
    case = repository.cases[complaint_id]
    assert (case.remedy_ref, case.remedy_count) == ("none", 1)
    assert repository.event_types(complaint_id)[-1] == "REMEDY_APPLIED"


def test_an_unavailable_ledger_fails_the_task_so_it_is_retried_and_records_nothing(
    service, repository, ledger, complaint_id
):
    ledger.unavailable = True
    version = repository.cases[complaint_id].version

    with pytest.raises(LedgerUnavailable):
        service.apply_remedy(complaint_id)

    case = repository.cases[complaint_id]
    assert (case.remedy_ref, case.remedy_count, case.version) == (None, 0, version)
    assert "REMEDY_APPLIED" not in repository.event_types(complaint_id)
    ledger.unavailable = False  # the retry, once the ledger is back
    assert service.apply_remedy(complaint_id).reference == f"PAY-{complaint_id}-R1"
    assert len(ledger.payments) == 1


def test_a_reopened_cases_new_remedy_is_paid_as_another_payment(service, repository, ledger, complaint_id):
    service.apply_remedy(complaint_id)
    service.record_answer(asked(repository, complaint_id), NO)
    resolving(repository, complaint_id, {**REFUND, "amount": "20.00"})

    result = service.apply_remedy(complaint_id)

    assert result.reference == f"PAY-{complaint_id}-R2"
    assert [call[1] for call in ledger.calls] == [f"{complaint_id}-R1", f"{complaint_id}-R2"]
    assert repository.cases[complaint_id].remedy_count == 2


# ------------------------------------------------------------------ asking the customer


def test_the_customer_is_emailed_the_findings_with_a_link_and_the_case_awaits_their_answer(
    service, repository, mailer, complaint_id
):
    service.ask_customer(complaint_id, "confirm-token", 3600)

    (email,) = mailer.sent
    assert email.to == ["alice@example.com"]
    assert email.subject == f"Your complaint {complaint_id}: what we found and what we are doing"
    assert "We refund the 150 CNY to your account." in email.text
    assert "You should see the payment by" in email.text
    assert "confirm-token" not in email.text and "confirm-token" not in email.html
    (link_id,) = re.findall(r"https://api\.example/tasks/([\w-]+)\?sig=[0-9a-f]+", email.text)
    case = repository.cases[complaint_id]
    assert case.status == Status.AWAITING_CONFIRMATION
    assert case.confirm_link_id == link_id
    link = repository.links[link_id]
    assert (link.kind, link.status, link.recipient_email) == ("confirm", LinkStatus.OPEN, "alice@example.com")
    assert "RESOLUTION_SENT" in repository.event_types(complaint_id)
    # A reply reaches the case: by its signed reply address, or by this email's id in In-Reply-To.
    assert case_of(email.reply_to, KEY) == repository.case_of_sent_mail("message-1") == complaint_id


def test_the_same_wait_for_the_customer_asked_twice_sends_one_email(
    service, repository, mailer, complaint_id
):
    """Step Functions may deliver the task's invocation again: the customer is not asked twice."""
    service.ask_customer(complaint_id, "confirm-token", 3600)
    service.ask_customer(complaint_id, "confirm-token", 3600)

    assert len(mailer.sent) == 1
    assert repository.event_types(complaint_id).count("RESOLUTION_SENT") == 1


def test_the_customers_email_that_failed_goes_out_when_the_wait_is_asked_again(
    service, repository, mailer, complaint_id
):
    """The link was stored and the case set AWAITING_CONFIRMATION, then SES throttled the email: the
    retried step sends it, once."""
    mailer.throttle_next = 1
    with pytest.raises(TransientError):
        service.ask_customer(complaint_id, "confirm-token", 3600)

    service.ask_customer(complaint_id, "confirm-token", 3600)
    service.ask_customer(complaint_id, "confirm-token", 3600)

    assert len(mailer.sent) == 1
    assert repository.get(complaint_id)[0].status == Status.AWAITING_CONFIRMATION
    assert repository.event_types(complaint_id).count("RESOLUTION_SENT") == 1


def test_the_customer_is_asked_in_their_own_language(
    intake, service, repository, policy, triage_policy, mailer, settings, clock
):
    complaint_id = triaged(intake, repository, policy, triage_policy, mailer, settings, clock, "zh-CN")
    resolving(repository, complaint_id, EXPLANATION)

    service.ask_customer(complaint_id, "confirm-token", 3600)

    (email,) = mailer.sent
    assert email.subject == f"您的投诉 {complaint_id}：调查结果与处理方案"
    assert "这是否解决了您的投诉" in email.text
    assert "款项预计" not in email.text  # an explanation pays nothing, so no payment date


# ------------------------------------------------------------------ the customer's answer


def test_a_yes_closes_and_keeps_the_rating(service, repository, complaint_id):
    assert service.record_answer(asked(repository, complaint_id), YES).model_dump() == {
        "complaintId": complaint_id,
        "outcome": "close",
    }

    case = repository.cases[complaint_id]
    assert (case.csat_rating, case.customer_resolved) == (5, "yes")
    assert repository.event_types(complaint_id)[-1] == "CUSTOMER_CONFIRMED"


def test_no_answer_in_time_closes(service, repository, complaint_id):
    assert service.record_answer(asked(repository, complaint_id), None).outcome == "close"

    assert repository.event_types(complaint_id)[-1] == "NO_ANSWER"
    assert repository.cases[complaint_id].csat_rating is None


def test_a_first_no_reopens_the_investigation(service, repository, complaint_id):
    service.apply_remedy(complaint_id)

    assert service.record_answer(asked(repository, complaint_id), NO).outcome == "reopen"

    case = repository.cases[complaint_id]
    assert case.status == Status.INVESTIGATING
    assert case.reopened is True
    assert case.findings is None
    assert case.remedy_ref is None
    assert (case.csat_rating, case.customer_resolved) == (1, "no")
    assert repository.event_types(complaint_id)[-1] == "REOPENED"


def test_a_second_no_after_the_reopen_leads_to_the_final_response(service, repository, complaint_id):
    service.record_answer(asked(repository, complaint_id), NO)
    resolving(repository, complaint_id, EXPLANATION)

    assert service.record_answer(asked(repository, complaint_id), NO).outcome == "final"

    case = repository.cases[complaint_id]
    assert case.findings is not None  # kept for the final response letter
    assert repository.event_types(complaint_id)[-1] == "CUSTOMER_DISSATISFIED"


def test_an_answer_that_is_not_yes_or_no_is_refused(service, repository, complaint_id):
    asked(repository, complaint_id)
    version = repository.cases[complaint_id].version

    with pytest.raises(ValueError):
        service.record_answer(complaint_id, {"resolved": "maybe", "rating": 3})

    assert repository.cases[complaint_id].version == version


def test_the_final_response_letter_names_the_ombudsman(service, repository, mailer, complaint_id):
    service.send_final_response(complaint_id)

    (email,) = mailer.sent
    assert email.to == ["alice@example.com"]
    assert "Financial Ombudsman Service" in email.text
    assert "Financial Ombudsman Service" in email.html
    assert "We refund the 150 CNY to your account." in email.text
    assert repository.cases[complaint_id].final_response_sent_at is not None
    assert repository.event_types(complaint_id)[-1] == "FINAL_RESPONSE"
    assert case_of(email.reply_to, KEY) == repository.case_of_sent_mail("message-1") == complaint_id


# ------------------------------------------------------------------ closing


def test_closing_archives_the_case_for_the_retention_period_and_frees_the_investigator(
    service, repository, clock, complaint_id
):
    assert repository.open_cases("finance") == {"fin-wang": 1}
    now = clock()

    assert service.close(complaint_id).model_dump() == {"complaintId": complaint_id, "status": "CLOSED"}

    case = repository.cases[complaint_id]
    assert case.status == Status.CLOSED
    assert case.closed_at == now
    archived = repository.archives[complaint_id]
    assert archived["case"].status == Status.CLOSED
    ttl = archived["ttl"]
    three_years = (now + timedelta(days=3 * 365)).timestamp()
    assert abs(ttl - three_years) < 2 * 86400
    assert repository.open_cases("finance") == {"fin-wang": 0}
    assert repository.event_types(complaint_id)[-1] == "CLOSED"


def test_closing_twice_changes_nothing(service, repository, clock, complaint_id):
    service.close(complaint_id)
    version = repository.cases[complaint_id].version
    archived = dict(repository.archives[complaint_id])
    clock.advance(60)

    assert service.close(complaint_id).model_dump() == {"complaintId": complaint_id, "status": "CLOSED"}

    assert repository.cases[complaint_id].version == version
    assert repository.archives[complaint_id] == archived
    assert repository.open_cases("finance") == {"fin-wang": 0}
    assert repository.event_types(complaint_id).count("CLOSED") == 1


def test_a_close_that_fails_leaves_nothing_half_done_and_its_retry_does_it_all(
    service, repository, complaint_id
):
    """Closing was three writes: CLOSED, then the archive, then the release. A step that failed after the
    first was retried, found the case CLOSED and returned: no archive, the investigator never released."""
    repository.fail_close = 1

    with pytest.raises(TransientError):
        service.close(complaint_id)
    assert repository.cases[complaint_id].status != Status.CLOSED
    assert complaint_id not in repository.archives
    assert repository.open_cases("finance") == {"fin-wang": 1}

    service.close(complaint_id)  # the state machine's retry

    assert repository.cases[complaint_id].status == Status.CLOSED
    assert repository.archives[complaint_id]["case"].status == Status.CLOSED
    assert repository.open_cases("finance") == {"fin-wang": 0}
    assert repository.event_types(complaint_id).count("CLOSED") == 1


def test_closing_never_counts_an_investigator_below_zero(service, repository, complaint_id):
    repository.roster[("finance", "fin-wang")]["open_cases"] = 0

    service.close(complaint_id)

    assert repository.open_cases("finance") == {"fin-wang": 0}


def test_a_retried_answer_task_gives_the_first_outcome_and_changes_nothing(repository, service, complaint_id):
    first = service.record_answer(asked(repository, complaint_id), NO)
    case_after_first = repository.get(complaint_id)[0]

    again = service.record_answer(complaint_id, NO)  # the task retried after its first run succeeded

    assert first.outcome == again.outcome == "reopen"
    assert repository.get(complaint_id)[0] == case_after_first


def test_a_retried_final_response_task_sends_one_letter(service, mailer, complaint_id):
    service.send_final_response(complaint_id)
    service.send_final_response(complaint_id)

    letters = [m for m in mailer.sent if "Final response" in m.subject or "最终答复" in m.subject]
    assert len(letters) == 1
