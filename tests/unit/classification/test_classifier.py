"""The complaint classifier: phrase matching in Chinese and English, rule scoring, hints, the manual
queue, the ML fallback, and the packaged taxonomy measured against a labelled set of complaints.

Scoring behaviour is tested on a small taxonomy written here, so that retuning the packaged vocabulary
cannot change what these tests mean; the packaged taxonomy is tested for its shape and its accuracy.

Over 400 lines: the scoring cases on a small taxonomy written here, and the packaged taxonomy's, share the
same helpers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from complaints.classification import deferred
from complaints.classification.classifier import FallbackClassifier, RuleClassifier, classifier_from_config
from complaints.classification.matcher import PhraseMatcher
from complaints.classification.taxonomy import Classification, Taxonomy, load_taxonomy

LABELLED = Path(__file__).parent / "data" / "labelled_complaints.yaml"
CATEGORIES = {
    "payments",
    "settlement",
    "technical",
    "account",
    "security",
    "promotions",
    "fairness",
    "service",
    "policy",
    "other",
}
DEPARTMENTS = {
    "technical-support",
    "finance",
    "risk-control",
    "customer-service",
    "compliance-legal",
    "vendor-liaison",
}

# Weights chosen so the arithmetic is easy to follow: full evidence 3, hint 0.5, minimum 0.2.
SMALL = """
departments:
  finance: {en: Finance, zh-CN: 财务}
  customer-service: {en: Customer Service, zh-CN: 客服}
min_confidence: 0.2
full_evidence_score: 3
hint_boost: 0.5
fallback_category: other
manual_queue_department: customer-service
classifier: {provider: rules}
categories:
  payments:
    name: {en: Payments, zh-CN: 支付}
    department: finance
    phrases:
      en: [deposit, {withdrawal pending: 2}, {money: 0.5}]
      zh-CN: [提现, {未到账: 2}]
  account:
    name: {en: Account, zh-CN: 账户}
    department: customer-service
    phrases:
      en: [login, frozen]
      zh-CN: [登录, {账户冻结: 2}]
  other:
    name: {en: Other, zh-CN: 其他}
    department: customer-service
    phrases:
      en: [suggestion]
      zh-CN: [建议]
"""


@pytest.fixture(scope="module")
def rules(taxonomy) -> RuleClassifier:
    return RuleClassifier(taxonomy)


@pytest.fixture(scope="module")
def small() -> RuleClassifier:
    return RuleClassifier(load_taxonomy(SMALL))


def _labelled() -> list[dict]:
    return yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["complaints"]


def _small_with(**changes) -> str:
    document = yaml.safe_load(SMALL)
    document.update(changes)
    return yaml.safe_dump(document, allow_unicode=True)


# --------------------------------------------------------------------------- accuracy


def test_the_labelled_set_is_large_and_balanced_enough_to_mean_something():
    complaints = _labelled()
    locales = Counter(item["locale"] for item in complaints)
    expected = Counter(item["expected"] for item in complaints)

    assert len(complaints) >= 70
    assert locales["en"] >= 25 and locales["zh-CN"] >= 25
    assert set(expected) == CATEGORIES
    assert min(expected.values()) >= 5, expected
    assert all(item.get("hint") in CATEGORIES | {None} for item in complaints)


def test_rules_classify_at_least_nine_in_ten_labelled_complaints_correctly(rules):
    complaints = _labelled()
    misses = []
    for item in complaints:
        result = rules.classify(item["text"], item.get("hint"))
        if result.category != item["expected"]:
            misses.append(
                f"{item['text']!r}: expected {item['expected']}, got {result.category} "
                f"({result.confidence}) on {result.evidence}"
            )
    accuracy = 1 - len(misses) / len(complaints)

    assert accuracy >= 0.9, f"accuracy {accuracy:.1%}; misclassified:\n" + "\n".join(misses)


# --------------------------------------------------------------------------- phrase matching


def test_chinese_phrases_match_inside_text_without_spaces(rules):
    result = rules.classify("我昨天申请的提现到现在还没到账请尽快处理")

    assert result.category == "payments"
    assert result.evidence == ["提现", "没到账"]


def test_chinese_phrases_ignore_spaces_and_full_width_latin_letters():
    matcher = PhraseMatcher(["账户冻结", "app闪退"])

    assert matcher.find("我的 账户 冻结 了,ＡＰＰ 闪退") == ["账户冻结", "app闪退"]


@pytest.mark.parametrize(
    "text",
    ["Withdraw", "my WITHDRAWALS", "withdrawing money", "the withdrawal", "Withdrawals were withdrawn"],
)
def test_english_phrases_match_any_inflection_in_any_case(text):
    assert PhraseMatcher(["withdrawal", "withdrawn"]).find(text)[0] in ("withdrawal", "withdrawn")


def test_irregular_forms_are_their_own_phrases():
    matcher = PhraseMatcher(["freeze"])

    assert matcher.find("they keep freezing it, it freezes") == ["freeze"]
    assert matcher.find("my account is frozen") == []


def test_multi_word_phrases_match_inflected_word_sequences():
    matcher = PhraseMatcher(["log in", "charged twice"])

    assert matcher.find("I LOGGED IN and was Charged Twice") == ["log in", "charged twice"]
    assert matcher.find("log   in, or log-in") == ["log in"]
    assert matcher.find("twice charged; logged out in a moment") == []


@pytest.mark.parametrize("text", ["better luck next time", "the alphabet", "abet", "Betty", "bet365"])
def test_a_phrase_inside_another_word_does_not_match(text):
    assert PhraseMatcher(["bet"]).find(text) == []


def test_bet_still_matches_as_a_word_and_its_inflections():
    assert PhraseMatcher(["bet"]).find("my Bets, betting on a bet") == ["bet"]


def test_latin_words_inside_chinese_text_match_english_phrases():
    assert PhraseMatcher(["app", "bug"]).find("手机APP出现BUG了") == ["app", "bug"]


def test_a_phrase_found_only_inside_a_longer_listed_phrase_is_not_reported():
    matcher = PhraseMatcher(["withdrawal", "withdrawal limit", "冻结", "账户冻结"])

    assert matcher.find("what is the withdrawal limit? 账户冻结了") == ["withdrawal limit", "账户冻结"]
    assert matcher.find("withdrawal limit, and my withdrawal; 冻结") == [
        "withdrawal limit",
        "withdrawal",
        "冻结",
    ]


def test_the_matcher_serves_any_phrase_list_such_as_threats():
    matcher = PhraseMatcher(["regulator", "lawyer", "媒体曝光"])

    found = matcher.find("My LAWYERS will hear of this, and the Regulator. 不解决就媒体曝光")

    assert found == ["lawyer", "regulator", "媒体曝光"]
    assert matcher.find("no threats here, just a regular complaint") == []


def test_phrases_that_match_the_same_words_are_refused():
    with pytest.raises(ValueError, match="same words"):
        PhraseMatcher(["withdrawal", "Withdrawals"])
    with pytest.raises(ValueError, match="no words"):
        PhraseMatcher(["--"])


# --------------------------------------------------------------------------- scoring, evidence, hints


def test_confidence_is_the_winners_share_times_the_strength_of_its_evidence(small):
    # payments: deposit 1 + withdrawal pending 2 = 3 (full strength); account: login 1. 3/4 x 1.
    result = small.classify("Deposit made, withdrawal pending, and login is fine")

    assert result == Classification(
        category="payments",
        confidence=0.75,
        evidence=["deposit", "withdrawal pending"],
        source="rules",
        hint=None,
        manual_review=False,
    )


def test_one_ordinary_phrase_is_enough_and_evidence_lists_only_the_winners_phrases(small):
    result = small.classify("my login fails, money please")  # account 1 vs payments 0.5: 1/1.5 x 1/3

    assert (result.category, result.confidence, result.evidence) == ("account", 0.222, ["login"])
    assert not result.manual_review


def test_no_evidence_goes_to_other_for_manual_review(small):
    result = small.classify("Hello, is anybody there?")

    assert (result.category, result.confidence, result.evidence) == ("other", 0.0, [])
    assert result.manual_review


def test_weak_evidence_goes_to_other_for_manual_review_with_everything_found(small):
    result = small.classify("I want my money")  # 0.5 alone: 1 x 0.5/3 = 0.167 < 0.2

    assert (result.category, result.confidence, result.evidence) == ("other", 0.167, ["money"])
    assert result.manual_review


def test_a_tie_is_no_decision(small):
    result = small.classify("deposit, then login")

    assert result.category == "other"
    assert result.manual_review
    assert result.evidence == ["deposit", "login"]


def test_the_hint_is_kept_and_breaks_a_tie(small):
    for hint in ("payments", "account"):
        result = small.classify("deposit, then login", hint=hint)

        assert (result.category, result.hint, result.manual_review) == (hint, hint, False)
        assert result.confidence == 0.3  # 1.5 / 2.5 x 1.5 / 3


def test_the_hint_does_not_override_stronger_evidence(small):
    result = small.classify("提现未到账,登录正常", hint="account")  # payments 3 vs account 1 + 0.5

    assert (result.category, result.hint) == ("payments", "account")
    assert result.evidence == ["提现", "未到账"]


def test_a_hint_alone_does_not_classify(small):
    result = small.classify("Please look into this", hint="payments")

    assert (result.category, result.hint, result.manual_review) == ("other", "payments", True)
    assert result.confidence == pytest.approx(0.167)


def test_an_unknown_hint_is_kept_but_ignored(small):
    plain = small.classify("deposit, then login")
    hinted = small.classify("deposit, then login", hint="gambling")

    assert hinted.hint == "gambling"
    assert hinted.model_copy(update={"hint": None}) == plain


# --------------------------------------------------------------------------- ML provider fallback


class _Answers:
    def __init__(self, category: str) -> None:
        self.category = category

    def classify(self, text: str, hint: str | None = None) -> Classification:
        return Classification(category=self.category, confidence=0.9, source="comprehend", hint=hint)


class _Fails:
    def classify(self, text: str, hint: str | None = None) -> Classification:
        raise TimeoutError("endpoint did not answer")


def test_the_fallback_classifier_uses_the_primarys_answer_when_it_is_a_known_category(small):
    result = FallbackClassifier(_Answers("account"), small).classify("anything", hint="payments")

    assert (result.category, result.source, result.hint) == ("account", "comprehend", "payments")


@pytest.mark.parametrize("primary", [_Fails(), _Answers("gambling")], ids=["raises", "unknown-category"])
def test_the_fallback_classifier_uses_the_rules_when_the_primary_fails(small, primary):
    result = FallbackClassifier(primary, small).classify("账户冻结了")

    assert (result.category, result.source) == ("account", "rules")


def test_the_fallback_classifier_needs_the_categories_when_the_fallback_is_not_rules():
    with pytest.raises(TypeError):
        FallbackClassifier(_Fails(), _Answers("other"))

    result = FallbackClassifier(_Fails(), _Answers("other"), categories=["other"]).classify("x")

    assert result.source == "comprehend"


def test_classifier_from_config_gives_the_rules_for_the_rules_provider(taxonomy):
    assert taxonomy.classifier.provider == "rules"
    assert isinstance(classifier_from_config(taxonomy), RuleClassifier)


def test_classifier_from_config_puts_a_providers_client_in_front_of_the_rules():
    taxonomy = load_taxonomy(_small_with(classifier={"provider": "comprehend", "endpoint_arn": "arn:x"}))
    seen = []

    def factory(config):
        seen.append(config)
        return _Fails()

    classifier = classifier_from_config(taxonomy, {"comprehend": factory})

    assert isinstance(classifier, FallbackClassifier)
    assert seen == [{"provider": "comprehend", "endpoint_arn": "arn:x"}]
    assert classifier.classify("登录不了").source == "rules"


def test_classifier_from_config_names_a_provider_it_cannot_build():
    taxonomy = load_taxonomy(_small_with(classifier={"provider": "bedrock", "model_id": "m"}))

    with pytest.raises(ValueError, match="'bedrock'"):
        classifier_from_config(taxonomy)
    with pytest.raises(ValueError, match="'bedrock'"):
        classifier_from_config(taxonomy, {"comprehend": lambda config: _Fails()})


# --------------------------------------------------------------------------- the packaged taxonomy


def test_the_taxonomy_has_exactly_the_ten_categories(taxonomy):
    assert set(taxonomy.categories) == CATEGORIES
    assert taxonomy.fallback_category == "other"
    assert taxonomy.manual_queue_department == "customer-service"


def test_every_category_has_names_phrases_in_both_languages_and_an_allowed_department(taxonomy):
    assert set(taxonomy.departments) == DEPARTMENTS
    for code, category in taxonomy.categories.items():
        assert category.name.en and category.name.zh_CN, code
        assert category.department in DEPARTMENTS, code
        assert category.phrases.en and category.phrases.zh_CN, code
        assert all(phrase.text.isascii() for phrase in category.phrases.en), code
        assert all(not phrase.text.isascii() for phrase in category.phrases.zh_CN), code


def test_departments_follow_the_categories(taxonomy):
    assert taxonomy.department_for("payments") == "finance"
    assert taxonomy.department_for("settlement") == "finance"
    assert taxonomy.department_for("technical") == "technical-support"
    assert taxonomy.department_for("security") == "risk-control"
    assert taxonomy.department_for("policy") == "compliance-legal"
    assert taxonomy.department_for("no-such-category") == taxonomy.department_for("other")


def test_a_complaint_for_manual_review_goes_to_the_manual_queue(taxonomy, rules):
    assert taxonomy.route(rules.classify("你好,在吗")) == "customer-service"
    assert taxonomy.route(rules.classify("The app keeps crashing")) == "technical-support"


def test_the_packaged_taxonomy_is_read_once(taxonomy):
    assert load_taxonomy() is taxonomy


def test_the_packaged_classifier_is_built_on_first_use_once_and_classifies_as_the_rules(taxonomy):
    deferred._build.cache_clear()
    classifier = deferred.packaged_classifier()
    assert deferred._build.cache_info().currsize == 0  # nothing built (nor parsed) yet
    rules = classifier_from_config(taxonomy)
    for text, hint in [("I was charged twice for one order", None), ("你好,在吗", None), ("hi", "payments")]:
        assert classifier.classify(text, hint) == rules.classify(text, hint)
    assert deferred.packaged_classifier().classify("The app keeps crashing") == rules.classify(
        "The app keeps crashing"
    )
    assert deferred._build.cache_info().currsize == 1  # built once, for both


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fallback_category": "misc"}, "fallback_category"),
        ({"manual_queue_department": "sales"}, "manual_queue_department"),
        ({"hint_boost": 0.6}, "hint_boost"),
        ({"min_confidence": 1.5}, "min_confidence"),
    ],
)
def test_an_inconsistent_taxonomy_is_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        load_taxonomy(_small_with(**changes))


def test_a_category_with_an_unknown_department_or_a_phrase_of_another_category_is_refused():
    document = yaml.safe_load(SMALL)
    document["categories"]["other"]["department"] = "sales"
    with pytest.raises(ValidationError, match="unknown department"):
        Taxonomy.model_validate(document)

    document = yaml.safe_load(SMALL)
    document["categories"]["other"]["phrases"]["en"].append("Deposits")
    with pytest.raises(ValidationError, match="repeats one in 'payments'"):
        Taxonomy.model_validate(document)


# --------------------------------------------------------------------------- decisive rules

DECISIVE = [
    {"name": "named", "category": "account", "when": [["hijacked", "被盗"]]},
    {"name": "pair", "category": "account", "when": [["fake link"], ["login", "登录"]]},
]


@pytest.fixture(scope="module")
def decisive() -> RuleClassifier:
    return RuleClassifier(load_taxonomy(_small_with(decisive=DECISIVE)))


def test_a_decisive_rule_outweighs_any_score_and_hint(decisive):
    # payments would score 2 + 1 + 2 against nothing: the rule decides all the same.
    result = decisive.classify("withdrawal pending, deposit gone, 未到账: I was hijacked", hint="payments")

    assert result == Classification(
        category="account",
        confidence=1.0,
        evidence=["rule: named", "hijacked"],
        source="rules",
        hint="payments",
        manual_review=False,
    )


def test_a_rule_of_several_groups_needs_a_phrase_from_each(decisive):
    both = decisive.classify("I clicked a fake link, then a login from elsewhere, deposit gone")

    assert (both.category, both.evidence) == ("account", ["rule: pair", "fake link", "login"])
    assert decisive.decide("I clicked a fake link, deposit gone") is None
    assert decisive.classify("I clicked a fake link, deposit gone").category == "payments"
    assert decisive.decide("login fine, deposit gone") is None


def test_decisive_groups_mix_languages(decisive):
    assert decisive.classify("fake link 之后有人登录").evidence == ["rule: pair", "fake link", "登录"]
    assert decisive.classify("账号被盗了").evidence == ["rule: named", "被盗"]


def test_without_decisive_rules_nothing_is_decided(small):
    assert small.decide("hijacked") is None


def test_the_fallback_classifier_asks_the_decisive_rules_before_the_primary(decisive):
    result = FallbackClassifier(_Answers("payments"), decisive).classify("a fake link, then a login")

    assert (result.category, result.source, result.evidence[0]) == ("account", "rules", "rule: pair")
    assert FallbackClassifier(_Answers("payments"), decisive).classify("deposit").source == "comprehend"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "r", "category": "gambling", "when": [["x"]]}, "unknown category 'gambling'"),
        ({"name": "r", "category": "account", "when": []}, "at least 1"),
        ({"name": "r", "category": "account", "when": [["x"], []]}, "empty group"),
        ({"name": "r", "category": "account", "when": [["logged in", "log in"]]}, "same words"),
    ],
)
def test_an_inconsistent_decisive_rule_is_refused(rule, message):
    with pytest.raises(ValidationError, match=message):
        load_taxonomy(_small_with(decisive=[rule]))


def test_the_packaged_decisive_rules_all_decide_security(taxonomy):
    assert taxonomy.decisive
    assert {rule.category for rule in taxonomy.decisive} == {"security"}


def test_within_keeps_a_co_occurrence_close_in_either_order():
    rule = {"name": "near", "category": "account", "when": [["someone", "有人"], ["login", "登录"]]}
    near = RuleClassifier(load_taxonomy(_small_with(decisive=[{**rule, "within": 5}])))

    assert near.decide("someone: login").evidence == ["rule: near", "someone", "login"]
    assert near.decide("the login someone made").evidence == ["rule: near", "login", "someone"]
    assert near.decide("有人登录了") is not None
    assert near.decide("someone told me the login page is down") is None  # 13 characters apart


def test_unless_stops_only_its_own_rule():
    rules = [
        {"name": "near", "category": "account", "when": [["someone"], ["login"]], "unless": ["help me"]},
        {"name": "named", "category": "account", "when": [["hijacked"]]},
    ]
    classifier = RuleClassifier(load_taxonomy(_small_with(decisive=rules)))

    assert classifier.decide("someone login").evidence == ["rule: near", "someone", "login"]
    assert classifier.decide("can someone help me with login") is None
    assert classifier.decide("help me, someone login, hijacked").evidence == ["rule: named", "hijacked"]


def test_within_needs_two_groups():
    with pytest.raises(ValidationError, match="two groups"):
        load_taxonomy(
            _small_with(decisive=[{"name": "r", "category": "account", "when": [["x"]], "within": 3}])
        )
