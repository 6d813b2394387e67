"""Triage never under-rates a security incident: an account takeover, however it is told and in
either language, is classified security, prioritised P1 and routed to risk control; everyday login
and password matters are not. The wordings are in data/security_incidents.yaml; the patterns that
catch them are the taxonomy's decisive rules, and security's P1 is the triage policy's always_p1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from complaints.classification.classifier import RuleClassifier, classifier_from_config
from complaints.classification.taxonomy import Classification
from complaints.core.models import ComplaintIn, Status
from complaints.triage.rules import score_priority
from complaints.triage.service import TriageService
from tests.fakes import FakeTriageRepository

WORDINGS = Path(__file__).parent / "data" / "security_incidents.yaml"
DATA = yaml.safe_load(WORDINGS.read_text(encoding="utf-8"))
TAKEOVERS = DATA["takeovers"]
NEAR_MISSES = DATA["near_misses"]
REPORTED = TAKEOVERS[0]["text"]  # once filed as an account matter at P4


def _ids(items: list[dict]) -> list[str]:
    return [f"{n:02d}-{item['locale']}" for n, item in enumerate(items)]


@pytest.fixture(scope="module")
def rules(taxonomy) -> RuleClassifier:
    return RuleClassifier(taxonomy)


def triage(rules, taxonomy, triage_policy, text: str) -> tuple[Classification, str, str]:
    """Classification, priority and department, as TriageService works them out (no amount, no
    history, no threat, no tier: the incident alone must carry the P1)."""
    classification = rules.classify(text)
    priority = score_priority(triage_policy.priority, classification.category, None, 0, [], None)
    return classification, priority.priority, taxonomy.route(classification)


# ------------------------------------------------------------------ the wordings


def test_the_takeover_set_is_large_and_varied():
    locales = [item["locale"] for item in TAKEOVERS]
    texts = [item["text"] for item in TAKEOVERS]

    assert len(TAKEOVERS) >= 30
    assert locales.count("en") >= 12 and locales.count("zh-CN") >= 12
    assert any(len(text) > 300 for text in texts), "a long, rambling one"
    assert sum(len(text) <= 25 for text in texts) >= 3, "short ones"
    assert any(text.isascii() is False and any(c.isascii() and c.isalpha() for c in text) for text in texts)
    assert len(NEAR_MISSES) >= 20
    assert {item["locale"] for item in NEAR_MISSES} == {"en", "zh-CN"}


@pytest.mark.parametrize("item", TAKEOVERS, ids=_ids(TAKEOVERS))
def test_every_account_takeover_is_a_p1_security_incident_for_risk_control(
    rules, taxonomy, triage_policy, item
):
    classification, priority, department = triage(rules, taxonomy, triage_policy, item["text"])

    assert (classification.category, priority, department) == ("security", "P1", "risk-control"), (
        classification.evidence
    )
    assert not classification.manual_review
    assert classification.evidence


@pytest.mark.parametrize("item", NEAR_MISSES, ids=_ids(NEAR_MISSES))
def test_an_everyday_login_or_password_matter_is_not_p1(rules, taxonomy, triage_policy, item):
    classification, priority, _ = triage(rules, taxonomy, triage_policy, item["text"])

    assert classification.category != "security", classification.evidence
    assert priority != "P1"


def test_the_reported_case_names_the_rule_that_caught_it(rules):
    result = rules.classify(REPORTED, hint="account")

    assert (result.category, result.confidence, result.hint) == ("security", 1.0, "account")
    assert result.evidence[0] == "rule: unknown login or device"


# ------------------------------------------------------------------ the policy


def test_every_category_a_decisive_rule_decides_is_always_p1_and_staffed(taxonomy, triage_policy):
    for rule in taxonomy.decisive:
        assert rule.category in triage_policy.priority.always_p1, rule.name
        assert taxonomy.department_for(rule.category) in triage_policy.roster, rule.name


def test_a_model_that_calls_a_takeover_an_account_matter_is_overruled(taxonomy):
    class CallsItAccount:
        def classify(self, text: str, hint: str | None = None) -> Classification:
            return Classification(category="account", confidence=0.95, source="comprehend", hint=hint)

    settings = taxonomy.classifier.model_copy(update={"provider": "x"})
    ml_first = taxonomy.model_copy(update={"classifier": settings})
    classifier = classifier_from_config(ml_first, {"x": lambda options: CallsItAccount()})

    assert classifier.classify(REPORTED).category == "security"
    assert classifier.classify(REPORTED).source == "rules"
    assert classifier.classify("I forgot my password").source == "comprehend"


# ------------------------------------------------------------------ the triage stage


@pytest.fixture
def repository() -> FakeTriageRepository:
    # Overrides conftest's: the intake fixture then stores its cases here too.
    return FakeTriageRepository()


def test_the_reported_case_is_triaged_p1_to_a_risk_control_investigator(
    intake, repository, taxonomy, policy, triage_policy, mailer, settings, clock
):
    service = TriageService(
        repository, RuleClassifier(taxonomy), taxonomy, policy, triage_policy, mailer, settings, clock=clock
    )
    submission = intake.submit(
        ComplaintIn.model_validate(
            {"customer": {"email": "alice@example.com"}, "description": REPORTED, "categoryHint": "account"}
        )
    )
    complaint_id = submission.accepted.complaintId

    outcome = service.triage(complaint_id)

    assert (outcome.category, outcome.priority) == ("security", "P1")
    case, events = repository.get(complaint_id)
    assert case.status == Status.TRIAGED
    assert case.department == "risk-control"
    assert case.assignee in {person.id for person in triage_policy.roster["risk-control"].investigators}
    assert events[-1].params["evidence"].startswith("rule: unknown login or device")
