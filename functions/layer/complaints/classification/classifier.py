"""Complaint classification: rule-based scoring on the taxonomy's phrases, that an ML service
(Comprehend, Bedrock) can later sit in front of.

Rules come first because they are deterministic and explainable: a caseworker can see which phrases
put a complaint in its category, and a complaint the rules are unsure of goes to a person, not to a guess."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from complaints.classification.matcher import PhraseMatcher
from complaints.classification.taxonomy import RULES, Classification, Taxonomy


class Classifier(Protocol):
    def classify(self, text: str, hint: str | None = None) -> Classification: ...


ProviderFactory = Callable[[dict[str, Any]], Classifier]
log = logging.getLogger(__name__)


class RuleClassifier:
    """Scores every category by the weights of its phrases found in the text (each phrase once,
    however often it occurs) and picks the highest.

    confidence = share x strength, where
      share    = winner's score / sum of all categories' scores (how one-sided the evidence is), and
      strength = min(1, winner's score / full_evidence_score)  (how much evidence there is at all).
    With the packaged settings (full evidence 3, minimum 0.2) one ordinary phrase (weight 1) alone
    gives 0.33, and 0.22 beside a weak word (weight 0.5) of another category: enough either way.

    Before any scoring, the taxonomy's decisive rules are tried in order: the first that fires decides
    its category with confidence 1, the hint ignored, and its evidence is "rule: <name>" followed by
    the phrases it found. They are for what must never be outvoted by everyday words: an account
    takeover mentions login, password and account more often than it says "hacked".

    A caller's hint that names a category adds `hint_boost` to that category's score, as if it were
    a small phrase: it settles a tie, but alone (0.5 / 3 = 0.17) it never reaches min_confidence (the
    taxonomy refuses settings where it would), and any heavier evidence elsewhere outweighs it. A tie
    that no hint settles is no decision. Below min_confidence, or on a tie, the result is the fallback
    category with manual_review set, and its evidence is every phrase found, for the person who picks
    it up.
    """

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._owner: dict[str, tuple[str, float]] = {
            phrase.text: (code, phrase.weight)
            for code, category in taxonomy.categories.items()
            for phrase in category.phrases.all()
        }
        self._matcher = PhraseMatcher(self._owner)
        # One matcher per group: within a group a shorter phrase may hide inside a longer one, but
        # never across groups, where both are needed.
        self._decisive = [
            (rule, [PhraseMatcher(group) for group in rule.when], PhraseMatcher(rule.unless))
            for rule in taxonomy.decisive
        ]

    def decide(self, text: str, hint: str | None = None) -> Classification | None:
        """The first decisive rule that fires, as a classification; None when none does."""
        for rule, groups, unless in self._decisive:
            found = rule.fires([matcher.locate(text) for matcher in groups], bool(unless.find(text)))
            if found is not None:
                return Classification(
                    category=rule.category,
                    confidence=1.0,
                    evidence=[f"rule: {rule.name}", *found],
                    source=RULES,
                    hint=hint,
                )
        return None

    def classify(self, text: str, hint: str | None = None) -> Classification:
        decided = self.decide(text, hint)
        if decided is not None:
            return decided
        found = self._matcher.find(text)
        scores: dict[str, float] = dict.fromkeys(self.taxonomy.categories, 0.0)
        evidence: dict[str, list[str]] = {code: [] for code in self.taxonomy.categories}
        for phrase in found:
            code, weight = self._owner[phrase]
            scores[code] += weight
            evidence[code].append(phrase)
        if hint in scores:
            scores[hint] += self.taxonomy.hint_boost

        # max() keeps the first of equal scores, so a tie is found by counting, not by order.
        winner = max(scores, key=scores.__getitem__)
        best, total = scores[winner], sum(scores.values())
        tied = sum(1 for score in scores.values() if score == best) > 1
        strength = min(1.0, best / self.taxonomy.full_evidence_score)
        confidence = round(best / total * strength, 3) if total else 0.0

        if tied or confidence < self.taxonomy.min_confidence:
            return Classification(
                category=self.taxonomy.fallback_category,
                confidence=confidence,
                evidence=found,
                source=RULES,
                hint=hint,
                manual_review=True,
            )
        return Classification(
            category=winner, confidence=confidence, evidence=evidence[winner], source=RULES, hint=hint
        )


class FallbackClassifier:
    """Asks the primary classifier (an ML service) first and the fallback (the rules) when the primary
    fails or answers with a category the taxonomy does not have: a complaint is never left
    unclassified because a service is down or a model drifted. `source` says which one answered.

    When the fallback is a RuleClassifier, its decisive rules are tried before the primary: a model
    may not outvote them (an account takeover a model calls "account" would lose its P1)."""

    def __init__(
        self, primary: Classifier, fallback: Classifier, categories: Iterable[str] | None = None
    ) -> None:
        if categories is None:
            if not isinstance(fallback, RuleClassifier):
                raise TypeError("pass the taxonomy's categories when the fallback is not a RuleClassifier")
            categories = fallback.taxonomy.categories
        self.primary = primary
        self.fallback = fallback
        self.categories = frozenset(categories)

    def classify(self, text: str, hint: str | None = None) -> Classification:
        if isinstance(self.fallback, RuleClassifier):
            decided = self.fallback.decide(text, hint)
            if decided is not None:
                return decided
        try:
            result = self.primary.classify(text, hint)
        except Exception as error:
            # Only the error's type: its message may quote the complaint.
            log.warning("primary classifier failed (%s); using the fallback", type(error).__name__)
            return self.fallback.classify(text, hint)
        if result.category not in self.categories:
            log.warning("primary classifier answered an unknown category; using the fallback")
            return self.fallback.classify(text, hint)
        return result


def classifier_from_config(
    taxonomy: Taxonomy, provider_factories: Mapping[str, ProviderFactory] | None = None
) -> Classifier:
    """The classifier the taxonomy's `classifier:` block asks for: the rules, or a provider's client
    (built by its factory from that block) with the rules behind it."""
    settings = taxonomy.classifier
    rules = RuleClassifier(taxonomy)
    if settings.provider == RULES:
        return rules
    factory = (provider_factories or {}).get(settings.provider)
    if factory is None:
        raise ValueError(f"no factory for classifier provider {settings.provider!r}")
    return FallbackClassifier(factory(settings.options()), rules)
