"""TriageService on the in-memory fakes: a RECEIVED case classified, prioritised, routed and clocked;
the roster balanced; duplicates linked and their complainant told once; conflicts retried; spikes
counted once per case and alerted once per category and hour.

Over 400 lines: one service's cases, sharing one set of fixtures."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from complaints.classification.classifier import RuleClassifier
from complaints.core.errors import TransientError
from complaints.core.models import ComplaintIn, Status
from complaints.core.rules import TriagePolicy
from complaints.presentation.i18n import messages
from complaints.triage.service import TriageOutcome, TriageService
from tests.fakes import FakeClock, FakeTriageRepository
from tests.support.cases import store_case

START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # the FakeClock's start
CHINESE = "充值成功但是余额一直没有增加，订单号找不到，请尽快处理。"


@pytest.fixture
def clock() -> FakeClock:
    # Overrides conftest's: time moves on between readings, so complaints filed one after the other
    # are ordered as they were filed (duplicates link to the earlier one).
    return FakeClock(tick=0.001)


@pytest.fixture
def repository() -> FakeTriageRepository:
    # Overrides conftest's: the intake fixture then stores its cases here too.
    return FakeTriageRepository()


@pytest.fixture
def service(repository, taxonomy, policy, triage_policy, mailer, settings, clock) -> TriageService:
    return TriageService(
        repository,
        RuleClassifier(taxonomy),
        taxonomy,
        policy,
        triage_policy,
        mailer,
        settings,
        clock=clock,
    )


def submit(intake, description: str, email: str = "alice@example.com", **extra) -> str:
    customer = {"email": email} | extra.pop("customer", {})
    document = {"customer": customer, "description": description, **extra}
    submission = intake.submit(ComplaintIn.model_validate(document))
    assert submission.created
    return submission.accepted.complaintId


def team_ids(triage_policy: TriagePolicy, department: str) -> list[str]:
    return [person.id for person in triage_policy.roster[department].investigators]


# ------------------------------------------------------------------ a case is triaged


def test_a_received_case_is_classified_prioritised_routed_and_clocked(
    intake, service, repository, policy, clock
):
    complaint_id = submit(
        intake,
        "My withdrawal of 1500 has not arrived in my bank account.",
        amount={"value": "1500.00", "currency": "CNY"},
    )
    clock.advance(30)

    outcome = service.triage(complaint_id)

    assert outcome == TriageOutcome(
        complaintId=complaint_id, outcome="TRIAGED", category="payments", priority="P2"
    )
    case, events = repository.get(complaint_id)
    assert case.status == Status.TRIAGED
    assert case.category == "payments"
    assert 0.2 <= case.confidence <= 1
    assert "withdrawal" in case.evidence
    assert case.manual_review is False
    assert case.priority == "P2"
    assert case.priority_score == 50
    assert [(p.reason, p.detail, p.points) for p in case.priority_breakdown] == [
        ("category", "payments", 25),
        ("amount", ">= 1000", 25),
    ]
    assert case.department == "finance"
    assert (case.assignee, case.assignee_name) == ("fin-wang", "Wang Fang")  # first in the roster
    assert timedelta(0) <= case.triaged_at - (START + timedelta(seconds=30)) < timedelta(seconds=1)
    sla = policy.sla_due(case.created_at, "P2")
    assert case.first_response_due_at == sla.first_response_due
    assert case.resolution_due_at == sla.resolution_due
    # Payment complaints: 15 business days instead of the 8 weeks set at intake.
    assert case.response_due_at == policy.response_due(case.created_at, "payments")
    assert case.response_due_at < START + timedelta(weeks=4)
    assert repository.open_cases("finance") == {"fin-wang": 1}
    triaged = events[-1]
    assert triaged.type == "TRIAGED"
    assert timedelta(0) <= triaged.at - (START + timedelta(seconds=30)) < timedelta(seconds=1)
    assert triaged.params["category"] == "payments"
    assert triaged.params["priority"] == "P2"
    assert triaged.params["score"] == "50"
    assert triaged.params["department"] == "finance"
    assert triaged.params["assignee"] == "Wang Fang"
    assert triaged.params["breakdown"] == "category payments +25; amount >= 1000 +25"


def test_the_deadline_the_complainant_was_told_is_never_moved_back(intake, service, repository, policy):
    complaint_id = submit(intake, "The app crashes when I open it.")
    stored = repository.cases[complaint_id]
    told = policy.response_due(stored.created_at, "payments")  # as an acknowledgement may have said
    repository.cases[complaint_id] = stored.model_copy(update={"response_due_at": told})

    service.triage(complaint_id)

    case, _ = repository.get(complaint_id)
    assert case.category == "technical"  # 8 weeks for this category, but 15 business days were promised
    assert policy.response_due(case.created_at, "technical") > told
    assert case.response_due_at == told


def test_a_roster_without_a_team_for_every_department_is_refused(
    repository, taxonomy, policy, triage_policy, mailer, settings
):
    short = triage_policy.model_copy(
        update={"roster": {k: v for k, v in triage_policy.roster.items() if k != "vendor-liaison"}}
    )

    with pytest.raises(ValueError, match="vendor-liaison"):
        TriageService(repository, RuleClassifier(taxonomy), taxonomy, policy, short, mailer, settings)


@pytest.mark.parametrize(
    ("description", "extra", "priority"),
    [
        ("Someone logged into my account without permission and stole my funds.", {}, "P1"),
        ("My withdrawal has not arrived.", {"amount": {"value": "1000.00", "currency": "CNY"}}, "P2"),
        ("Bet settled as lost although my team won.", {}, "P3"),
        ("The app crashes when I open it.", {}, "P4"),
    ],
)
def test_the_due_dates_are_the_sla_of_the_priority_from_the_time_of_receipt(
    intake, service, repository, policy, clock, description, extra, priority
):
    complaint_id = submit(intake, description, **extra)
    clock.advance(5 * 3600)  # triage runs late: the clocks still start at receipt

    assert service.triage(complaint_id).priority == priority

    case, _ = repository.get(complaint_id)
    sla = policy.sla_due(START, priority)
    assert case.created_at == START
    assert case.priority == priority
    assert case.first_response_due_at == sla.first_response_due
    assert case.resolution_due_at == sla.resolution_due
    assert START < case.first_response_due_at <= case.resolution_due_at


def test_the_triaged_event_holds_no_personal_data_of_the_customer(intake, service, repository):
    complaint_id = submit(
        intake,
        "I will report you to the regulator: my withdrawal of 20000 vanished.",
        email="alice.example@example.com",
        customer={"name": "Alice Wonderland", "phone": "+44 20 7946 0000", "tier": "Gold"},
        amount={"value": "20000.00", "currency": "CNY"},
    )

    service.triage(complaint_id)

    _, events = repository.get(complaint_id)
    (triaged,) = [event for event in events if event.type == "TRIAGED"]
    shown = " ".join([*triaged.params, *triaged.params.values()]).casefold()
    for personal in ("alice.example@example.com", "alice", "wonderland", "7946", "+44"):
        assert personal not in shown
    assert "regulator" in triaged.params["breakdown"]  # the event still explains the score


def test_threats_vip_and_repeat_complaints_raise_the_priority(intake, service, repository, clock):
    email = "repeat.customer@example.com"
    for text in ("My bonus was not credited after the deposit.", "The app crashes when I open my bets."):
        service.triage(submit(intake, text, email=email))
        clock.advance(3600)
    complaint_id = submit(
        intake,
        "Support never answers my messages. I will report you to the regulator and talk to my lawyer.",
        email=email,
        customer={"tier": "Gold"},
    )

    service.triage(complaint_id)

    case, _ = repository.get(complaint_id)
    parts = {p.reason: p for p in case.priority_breakdown}
    assert parts["repeat_complainant"].points == 15
    assert parts["repeat_complainant"].detail == "2 in 30 days"
    assert parts["threat"].points == 30
    assert "regulator" in parts["threat"].detail
    assert "lawyer" in parts["threat"].detail
    assert (parts["vip"].points, parts["vip"].detail) == (20, "gold")
    assert case.priority_score == sum(p.points for p in case.priority_breakdown)
    assert case.priority in ("P1", "P2")


def test_complaints_older_than_30_days_do_not_make_a_repeat_complainant(intake, service, repository, clock):
    email = "returning@example.com"
    for text in ("My bonus was not credited after the deposit.", "The app crashes when I open my bets."):
        service.triage(submit(intake, text, email=email))
    clock.advance(31 * 86400)
    complaint_id = submit(intake, "The odds shown changed after I placed my bet.", email=email)

    service.triage(complaint_id)

    case, _ = repository.get(complaint_id)
    assert "repeat_complainant" not in {p.reason for p in case.priority_breakdown}


@pytest.mark.parametrize(
    ("description", "hint"),
    [
        ("Hello, I would like to tell you something.", None),
        ("Hello, please look into what happened yesterday.", "payments"),  # a hint alone is not enough
    ],
)
def test_a_low_confidence_complaint_goes_to_other_for_manual_review_in_customer_service(
    intake, service, repository, triage_policy, description, hint
):
    extra = {"categoryHint": hint} if hint else {}
    complaint_id = submit(intake, description, **extra)

    outcome = service.triage(complaint_id)

    assert outcome.outcome == "TRIAGED"
    assert outcome.category == "other"
    case, _ = repository.get(complaint_id)
    assert case.category == "other"
    assert case.manual_review is True
    assert case.confidence < 0.2
    assert case.department == "customer-service"
    assert case.assignee == team_ids(triage_policy, "customer-service")[0]
    assert case.priority == "P4"


# ------------------------------------------------------------------ the roster


def test_assignments_balance_across_the_department(intake, service, repository, triage_policy, clock):
    team = team_ids(triage_policy, "finance")
    assignees = []
    for i in range(3 * len(team)):
        complaint_id = submit(
            intake, f"Withdrawal number {i} has not arrived in my bank account.", email=f"c{i}@example.com"
        )
        clock.advance(60)
        service.triage(complaint_id)
        assignees.append(repository.get(complaint_id)[0].assignee)

    assert Counter(assignees) == dict.fromkeys(team, 3)
    assert assignees[: len(team)] == team  # the first round goes in roster order
    assert assignees == team * 3  # and ties go to whoever was assigned longest ago
    assert repository.open_cases("finance") == dict.fromkeys(team, 3)


def test_the_investigator_with_the_fewest_open_cases_gets_the_next_one(
    intake, service, repository, triage_policy, clock
):
    wang, feng, chen = team_ids(triage_policy, "finance")
    repository.assign_elsewhere("finance", wang, START - timedelta(days=2))
    repository.assign_elsewhere("finance", wang, START - timedelta(days=2))
    repository.assign_elsewhere("finance", feng, START - timedelta(days=1))
    repository.assign_elsewhere("finance", chen, START - timedelta(hours=1))

    first = submit(intake, "My withdrawal has not arrived.", email="a@example.com")
    second = submit(intake, "My deposit has not arrived.", email="b@example.com")
    service.triage(first)
    clock.advance(60)
    service.triage(second)

    # feng and chen have 1 each, wang 2: feng was assigned longest ago, then chen.
    assert repository.get(first)[0].assignee == feng
    assert repository.get(second)[0].assignee == chen
    assert repository.open_cases("finance") == {wang: 2, feng: 2, chen: 2}


def test_a_retried_triage_changes_nothing_and_assigns_once(intake, service, repository, mailer):
    complaint_id = submit(intake, "My withdrawal is stuck as pending for a week.")
    first = service.triage(complaint_id)
    case_after_first, _ = repository.get(complaint_id)

    again = service.triage(complaint_id)

    assert again == first
    case, events = repository.get(complaint_id)
    assert case == case_after_first
    assert [event.type for event in events].count("TRIAGED") == 1
    assert sum(repository.open_cases("finance").values()) == 1
    assert mailer.sent == []


# ------------------------------------------------------------------ conflicts


def test_a_conflict_on_the_first_write_is_retried_and_assigns_once(intake, service, repository):
    complaint_id = submit(intake, "My withdrawal has not arrived.")
    repository.inject_conflicts(1)

    outcome = service.triage(complaint_id)

    assert outcome.outcome == "TRIAGED"
    assert repository.mark_triaged_calls == 2
    case, events = repository.get(complaint_id)
    assert case.status == Status.TRIAGED
    assert repository.open_cases("finance") == {case.assignee: 1}
    assert [event.type for event in events].count("TRIAGED") == 1


def test_a_concurrent_assignment_is_seen_by_the_retry(intake, service, repository, triage_policy, clock):
    wang, feng, _ = team_ids(triage_policy, "finance")
    complaint_id = submit(intake, "My withdrawal has not arrived.")
    # Another case's triage gives wang a case between this triage's read of the roster and its write.
    repository.before_next_mark_triaged(lambda: repository.assign_elsewhere("finance", wang, clock()))

    service.triage(complaint_id)

    assert repository.mark_triaged_calls == 2
    assert repository.get(complaint_id)[0].assignee == feng
    assert repository.open_cases("finance") == {wang: 1, feng: 1}


def test_conflicts_that_do_not_stop_leave_the_case_received_and_nobody_assigned(intake, service, repository):
    complaint_id = submit(intake, "My withdrawal has not arrived.")
    repository.inject_conflicts(5)

    # A TransientError, which the state machine retries later (contention is not a fault).
    with pytest.raises(TransientError):
        service.triage(complaint_id)

    case, events = repository.get(complaint_id)
    assert case.status == Status.RECEIVED
    assert "TRIAGED" not in [event.type for event in events]
    assert repository.open_cases("finance") == {}


# ------------------------------------------------------------------ duplicates


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_same_reference_links_the_complaint_and_tells_the_customer_once_in_their_language(
    intake, service, repository, mailer, clock, locale
):
    first = submit(intake, "Bet settled as lost although my team won.", references={"betId": "B-77"})
    service.triage(first)
    clock.advance(3600)
    second = submit(
        intake,
        "Why is my winning ticket shown as a loss? Please check.",
        customer={"locale": locale},
        references={"ticket": "b-77"},
    )
    clock.advance(60)

    outcome = service.triage(second)

    assert outcome == TriageOutcome(complaintId=second, outcome="RELATED", relatedTo=first)
    case, events = repository.get(second)
    assert case.status == Status.RELATED
    assert case.related_to == first
    assert case.assignee is None
    assert case.priority is None
    assert events[-1].type == "LINKED"
    assert events[-1].params == {"related_to": first, "reason": "reference", "detail": "betId"}
    (notice,) = mailer.sent
    assert notice.to == ["alice@example.com"]
    assert notice.subject == messages(locale)["related"]["subject"].format(complaint_id=second)
    assert first in notice.text
    assert first in notice.html
    notified = repository.get(second)[0].related_notified_at
    assert timedelta(0) <= notified - (START + timedelta(seconds=3660)) < timedelta(seconds=1)
    # The earlier case carries the investigation: one assignment, its own and unchanged.
    assert sum(repository.open_cases("customer-service").values()) == 0
    assert sum(repository.open_cases("finance").values()) == 1
    assert repository.get(first)[0].status == Status.TRIAGED

    retried = service.triage(second)

    assert retried == outcome
    assert len(mailer.sent) == 1
    assert [event.type for event in repository.get(second)[1]].count("LINKED") == 1


def test_a_repeat_whose_acknowledgement_was_withheld_gets_no_link_notice(intake, service, repository, mailer):
    first = submit(intake, CHINESE)
    service.triage(first)
    again = submit(intake, CHINESE + "谢谢")
    repository.cases[again] = repository.cases[again].model_copy(update={"ack_suppressed_at": START})

    assert service.triage(again).outcome == "RELATED"
    assert mailer.sent == []


def test_near_identical_text_is_linked_but_the_same_text_from_another_customer_is_not(
    intake, service, repository, mailer
):
    first = submit(intake, CHINESE)
    service.triage(first)
    again = submit(intake, CHINESE + "谢谢", customer={"name": "Li"})
    other = submit(intake, CHINESE, email="someone.else@example.com")

    linked = service.triage(again)

    assert (linked.outcome, linked.relatedTo) == ("RELATED", first)
    assert repository.get(again)[1][-1].params["reason"] == "text"
    assert service.triage(other).outcome == "TRIAGED"
    assert [email.to for email in mailer.sent] == [["alice@example.com"]]


def test_a_throttled_notice_is_sent_by_the_retry(intake, service, repository, mailer):
    first = submit(intake, "Bet settled as lost although my team won.", references={"betId": "B-77"})
    service.triage(first)
    second = submit(intake, "Still wrong: my ticket B-77 lost.", references={"betId": "B-77"})
    mailer.throttle_next = 1

    with pytest.raises(TransientError):
        service.triage(second)
    assert repository.get(second)[0].status == Status.RELATED  # linked, though not yet told

    assert service.triage(second).outcome == "RELATED"
    (notice,) = mailer.sent
    assert second in notice.subject
    assert service.triage(second).relatedTo == first
    assert len(mailer.sent) == 1


def test_a_closed_earlier_case_does_not_absorb_a_new_complaint(intake, service, repository, mailer):
    first = submit(intake, "Bet settled as lost although my team won.", references={"betId": "B-77"})
    service.triage(first)
    stored = repository.cases[first]
    repository.cases[first] = stored.model_copy(update={"status": Status.CLOSED})
    second = submit(intake, "Ticket B-77 again settled as a loss.", references={"betId": "B-77"})

    assert service.triage(second).outcome == "TRIAGED"
    assert mailer.sent == []


def test_the_earlier_of_two_duplicates_is_investigated_even_when_triaged_late(intake, service, repository):
    first = submit(intake, "My withdrawal W-17 has not arrived.", references={"withdrawalId": "W-17"})
    second = submit(intake, "Where is withdrawal W-17?", references={"withdrawalId": "W-17"})

    service.triage(first)  # runs late: the second complaint is already stored, still RECEIVED
    service.triage(second)

    assert repository.get(first)[0].status == Status.TRIAGED
    assert repository.get(second)[0].status == Status.RELATED
    assert repository.get(second)[0].related_to == first


# ------------------------------------------------------------------ spikes


def stored_case(repository: FakeTriageRepository, number: int, at: datetime, category: str | None) -> str:
    """A triaged case of its own customer, stored directly (the spike watch reads only its category)."""
    complaint_id = f"CMP-{at:%Y%m%d}-SP{number:04d}"
    store_case(
        repository,
        complaint_id,
        at,
        f"spike{number}@example.com",
        f"Deposit {number} failed",
        status=Status.TRIAGED,
        category=category,
    )
    return complaint_id


def cases_in_hour(repository, hour: datetime, count: int, category: str | None = "payments", first: int = 0):
    return [stored_case(repository, first + n, hour + timedelta(minutes=n), category) for n in range(count)]


def spike_alerts(mailer) -> list:
    return [email for email in mailer.sent if "Spike" in email.subject]


def test_below_the_threshold_there_is_no_alert(service, repository, mailer, triage_policy):
    threshold = triage_policy.spikes.threshold
    ids = cases_in_hour(repository, START, threshold - 1)

    results = [service.watch_spikes(i) for i in ids]

    assert [r.count for r in results] == list(range(1, threshold))
    assert not any(r.alerted for r in results)
    assert mailer.sent == []


def test_the_complaint_that_reaches_the_threshold_alerts_ops_once(
    service, repository, mailer, settings, triage_policy
):
    rules = triage_policy.spikes
    ids = cases_in_hour(repository, START, rules.threshold + 3)

    results = [service.watch_spikes(i) for i in ids]

    assert [r.complaintId for r in results if r.alerted] == [ids[rules.threshold - 1]]
    assert [r.count for r in results] == list(range(1, len(ids) + 1))
    (alert,) = mailer.sent
    assert alert.to == [settings.ops_email] == ["ops@example.com"]
    assert alert.subject == (
        f"[complaints] Spike: {rules.threshold} 'payments' complaints in the hour 2026-03-05T10:00 UTC"
    )
    alerted = results[rules.threshold - 1]
    assert alerted.examples == ids[: rules.example_ids]
    assert all(i in alert.text for i in ids[: rules.example_ids])
    assert ids[rules.example_ids] not in alert.text  # examples are capped
    assert "Baseline: 0.00" in alert.text


def test_a_retried_watch_of_the_alerting_complaint_sends_no_second_alert(
    service, repository, mailer, triage_policy
):
    rules = triage_policy.spikes
    ids = cases_in_hour(repository, START, rules.threshold + 2)
    for i in ids:
        service.watch_spikes(i)

    retried = service.watch_spikes(ids[rules.threshold - 1])

    assert (retried.alerted, retried.count) == (False, len(ids))
    assert len(spike_alerts(mailer)) == 1


def test_a_retried_watch_does_not_count_the_complaint_twice(service, repository, mailer):
    (complaint_id,) = cases_in_hour(repository, START, 1)

    first = service.watch_spikes(complaint_id)
    again = service.watch_spikes(complaint_id)

    assert first.count == again.count == 1
    assert repository.hour_counts("payments", ["2026-03-05T10"]) == {"2026-03-05T10": 1}
    assert repository.spike_examples("payments", "2026-03-05T10") == [complaint_id]
    assert mailer.sent == []


def test_retries_of_one_complaint_never_make_a_spike(service, repository, mailer, triage_policy):
    ids = cases_in_hour(repository, START, triage_policy.spikes.threshold - 1)
    for i in ids:
        service.watch_spikes(i)

    for _ in range(3):
        assert service.watch_spikes(ids[-1]).alerted is False

    assert repository.hour_counts("payments", ["2026-03-05T10"]) == {"2026-03-05T10": len(ids)}
    assert mailer.sent == []


def test_a_new_hour_starts_a_new_count_and_may_alert_again(service, repository, mailer, triage_policy):
    threshold = triage_policy.spikes.threshold
    ten = START
    eleven = START + timedelta(hours=1)
    for i in cases_in_hour(repository, ten, threshold):
        service.watch_spikes(i)

    next_hour = cases_in_hour(repository, eleven, threshold, first=100)
    results = [service.watch_spikes(i) for i in next_hour]

    assert results[0].count == 1
    assert results[0].baseline == threshold / triage_policy.spikes.trailing_hours
    assert [r.alerted for r in results] == [False] * (threshold - 1) + [True]
    assert repository.hour_counts("payments", ["2026-03-05T10", "2026-03-05T11"]) == {
        "2026-03-05T10": threshold,
        "2026-03-05T11": threshold,
    }
    subjects = [alert.subject for alert in spike_alerts(mailer)]
    assert len(subjects) == 2
    assert subjects[0].endswith("in the hour 2026-03-05T10:00 UTC")
    assert subjects[1].endswith("in the hour 2026-03-05T11:00 UTC")


def test_a_complaint_counts_in_the_hour_it_was_received_not_when_it_is_watched(service, repository, clock):
    (complaint_id,) = cases_in_hour(repository, START.replace(minute=59, second=59), 1)
    clock.advance(3600)  # the watch runs in the next hour

    service.watch_spikes(complaint_id)

    assert repository.hour_counts("payments", ["2026-03-05T10", "2026-03-05T11"]) == {"2026-03-05T10": 1}


def test_categories_are_counted_apart(service, repository, mailer, triage_policy):
    threshold = triage_policy.spikes.threshold
    payments = cases_in_hour(repository, START, threshold - 1, "payments")
    technical = cases_in_hour(repository, START, threshold - 1, "technical", first=100)
    unclassified = cases_in_hour(repository, START, 1, None, first=200)

    results = [service.watch_spikes(i) for i in payments + technical + unclassified]

    assert not any(r.alerted for r in results)
    assert results[-1].category == "other"
    assert repository.hour_counts("technical", ["2026-03-05T10"]) == {"2026-03-05T10": threshold - 1}
    assert repository.hour_counts("other", ["2026-03-05T10"]) == {"2026-03-05T10": 1}
    assert mailer.sent == []


def test_a_busy_category_alerts_only_at_factor_times_its_trailing_average(
    service, repository, mailer, triage_policy
):
    rules = triage_policy.spikes
    for back in range(1, rules.trailing_hours + 1):
        repository.set_hour_count("settlement", f"{START - timedelta(hours=back):%Y-%m-%dT%H}", 8)
    limit = int(rules.factor * 8)  # 24

    ids = cases_in_hour(repository, START, limit, "settlement")
    results = [service.watch_spikes(i) for i in ids]

    assert [r.complaintId for r in results if r.alerted] == [ids[limit - 1]]
    assert results[rules.threshold - 1].alerted is False
    assert results[0].baseline == 8
    (alert,) = mailer.sent
    assert f"{limit} 'settlement'" in alert.subject
    assert "Baseline: 8.00" in alert.text


def test_a_triaged_complaint_is_watched_in_its_category(intake, service, repository):
    complaint_id = submit(intake, "My withdrawal has not arrived.")
    service.triage(complaint_id)

    outcome = service.watch_spikes(complaint_id)

    assert (outcome.category, outcome.count, outcome.alerted) == ("payments", 1, False)
    assert repository.hour_counts("payments", ["2026-03-05T10"]) == {"2026-03-05T10": 1}


def test_a_throttled_spike_alert_is_sent_by_the_retry(service, repository, mailer, triage_policy):
    threshold = triage_policy.spikes.threshold
    ids = cases_in_hour(repository, START, threshold)
    for i in ids[:-1]:
        service.watch_spikes(i)
    mailer.throttle_next = 1

    with pytest.raises(TransientError):
        service.watch_spikes(ids[-1])
    retried = service.watch_spikes(ids[-1])  # as Step Functions retries TransientError

    assert retried.alerted is True
    assert len(spike_alerts(mailer)) == 1
