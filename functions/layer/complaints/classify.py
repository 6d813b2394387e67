"""Complaint classification: the taxonomy in config/taxonomy.yaml, a phrase matcher for Chinese and
English, and rule-based scoring that an ML service (Comprehend, Bedrock) can later sit in front of.

Rules come first because they are deterministic and explainable: a caseworker can see which phrases
put a complaint in its category, and a complaint the rules are unsure of goes to a person, not to a guess.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise, product
from typing import Any, Protocol

import snowballstemmer
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

RULES = "rules"


# --------------------------------------------------------------------------- phrase matching

# Han ideographs (and their compatibility and extension blocks), kana and hangul: scripts written
# without spaces between words, where a phrase can only be looked for as a substring.
_UNSPACED = re.compile(
    r"[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)
# A word of a spaced script: letters and digits, with inner apostrophes (can't, user's).
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_STEMMER = snowballstemmer.stemmer("english")


def _normalise(text: str) -> str:
    """NFKC folds full-width letters and digits (ＡＰＰ, １２３) to ASCII; casefold ignores case;
    typographic apostrophes become straight ones so "can’t" is one word."""
    return unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("\u2018", "'")


@lru_cache(maxsize=8192)  # bounded: the words come from customers' text
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def _words(text: str) -> list[tuple[str, int, int]]:
    """The stemmed words of normalised text with their spans. Unspaced-script characters are blanked
    first (same length, so spans stay true), which also splits "app闪退" into the word "app"."""
    masked = _UNSPACED.sub(" ", text)
    return [(_stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(masked)]


@dataclass(frozen=True, slots=True)
class _Pattern:
    phrase: str  # as written in the list, and as `find` reports it
    substring: str | None  # for a phrase in an unspaced script: its normalised text without whitespace
    stems: tuple[str, ...]  # for any other phrase: its stemmed words

    @property
    def key(self) -> str:
        return self.substring if self.substring is not None else " ".join(self.stems)


class PhraseMatcher:
    """Finds which of a fixed list of phrases occur in a text.

    A phrase with Chinese (or other unspaced-script) characters matches as a substring, with no word
    segmentation, and whitespace in the text is ignored, so "账户 冻结" still contains "账户冻结".
    Any other phrase matches whole words in sequence, case-insensitively, each word compared by its
    Snowball English stem: "withdrawal" finds withdraw, withdrawals and withdrawing, but "bet" is not
    found in "better" or "alphabet". Irregular forms (frozen for freeze, withdrawn, stolen) have their
    own stems and must be listed as phrases of their own.

    Where one listed phrase is found only inside the text of a longer listed phrase ("冻结" inside
    "账户冻结", "withdrawal" inside "withdrawal limit"), only the longer, more specific one is reported.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self._substrings: list[_Pattern] = []
        self._by_first_stem: dict[str, list[_Pattern]] = {}
        seen: dict[str, str] = {}
        for phrase in phrases:
            pattern = self.compile(phrase)
            key = pattern.key
            if key in seen:
                if seen[key] == phrase:
                    continue
                raise ValueError(f"phrases {seen[key]!r} and {phrase!r} match the same words")
            seen[key] = phrase
            if pattern.substring is not None:
                self._substrings.append(pattern)
            else:
                self._by_first_stem.setdefault(pattern.stems[0], []).append(pattern)

    @staticmethod
    def compile(phrase: str) -> _Pattern:
        text = _normalise(phrase)
        if _UNSPACED.search(text):
            return _Pattern(phrase, "".join(text.split()), ())
        stems = tuple(stem for stem, _, _ in _words(text))
        if not stems:
            raise ValueError(f"phrase {phrase!r} has no words to match")
        return _Pattern(phrase, None, stems)

    @classmethod
    def key(cls, phrase: str) -> str:
        """What a phrase matches on: two phrases with the same key are the same phrase."""
        return cls.compile(phrase).key

    def find(self, text: str) -> list[str]:
        """The listed phrases found in `text`, in order of first appearance, each once."""
        found: dict[str, None] = {}
        for _, _, phrase in self.locate(text):
            found.setdefault(phrase, None)
        return list(found)

    def locate(self, text: str) -> list[tuple[int, int, str]]:
        """Every occurrence as (start, end, phrase), in order, with offsets into the normalised text
        (the same for any matcher given the same text)."""
        spans = self._spans(_normalise(text))
        kept = [
            (start, end, phrase)
            for start, end, phrase in spans
            if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
        ]
        return sorted(kept, key=lambda span: (span[0], span[1]))

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        if self._substrings:
            # Search the text with its whitespace removed; `where` maps each kept character back.
            where = [i for i, char in enumerate(text) if not char.isspace()]
            compact = "".join(text[i] for i in where)
            for pattern in self._substrings:
                assert pattern.substring is not None
                start = compact.find(pattern.substring)
                while start >= 0:
                    end = start + len(pattern.substring)
                    spans.append((where[start], where[end - 1] + 1, pattern.phrase))
                    start = compact.find(pattern.substring, start + 1)
        words = _words(text)
        for i, (stem, start, _) in enumerate(words):
            for pattern in self._by_first_stem.get(stem, ()):
                n = len(pattern.stems)
                if tuple(word[0] for word in words[i : i + n]) == pattern.stems:
                    spans.append((start, words[i + n - 1][2], pattern.phrase))
        return spans


# --------------------------------------------------------------------------- taxonomy


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phrase(_Config):
    """A phrase and how much finding it says for its category. In YAML a bare string has weight 1;
    a one-entry mapping `phrase: weight` gives another weight."""

    text: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, le=5)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, dict) and len(value) == 1 and "text" not in value:
            ((text, weight),) = value.items()
            return {"text": text, "weight": weight}
        return value


class Names(_Config):
    en: str = Field(min_length=1)
    zh_CN: str = Field(alias="zh-CN", min_length=1)

    def get(self, locale: str) -> str:
        return self.zh_CN if locale == "zh-CN" else self.en


class Phrases(_Config):
    en: list[Phrase] = Field(min_length=1)
    zh_CN: list[Phrase] = Field(alias="zh-CN", min_length=1)

    def all(self) -> list[Phrase]:
        return [*self.en, *self.zh_CN]


class Category(_Config):
    name: Names
    department: str
    phrases: Phrases


class DecisiveRule(_Config):
    """A pattern that decides a category outright, whatever the phrase scores: it fires when the text
    has at least one phrase of every group in `when` (any language; matched as PhraseMatcher matches).
    One group is a list of phrases any one of which decides; two or more groups are a co-occurrence
    ("clicked a link" with "logged in"), for what no single phrase says safely alone.

    `within` keeps a co-occurrence close: each group's phrase at most that many characters after the
    previous one ends, in either order ("someone" right by "logged in", not three sentences away).
    `unless` lists phrases any one of which stops this rule (only this one) from firing: "can someone
    help me log in" is a question, not an intruder."""

    name: str = Field(min_length=1)
    category: str
    when: tuple[tuple[str, ...], ...] = Field(min_length=1)
    within: int | None = Field(default=None, gt=0)
    unless: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _groups(self) -> DecisiveRule:
        for group in self.when:
            if not group:
                raise ValueError(f"decisive rule {self.name!r} has an empty group")
            PhraseMatcher(group)  # refuses a phrase with no words, or two that match the same words
        PhraseMatcher(self.unless)
        if self.within is not None and len(self.when) < 2:
            raise ValueError(f"decisive rule {self.name!r}: `within` needs two groups or more")
        return self

    def fires(self, groups: list[list[tuple[int, int, str]]], vetoed: bool) -> list[str] | None:
        """The phrases that make it fire, given each group's occurrences; None when it does not."""
        if vetoed or not all(groups):
            return None
        if self.within is None:
            return list(dict.fromkeys(phrase for group in groups for _, _, phrase in group))
        for chosen in product(*groups):
            ordered = sorted(chosen)
            if all(b[0] - a[1] <= self.within for a, b in pairwise(ordered)):
                return list(dict.fromkeys(phrase for _, _, phrase in ordered))
        return None


class ClassifierSettings(BaseModel):
    """Which classifier answers first. The provider's own keys (an endpoint ARN, a model id) pass
    through unchecked: the provider's factory knows them, this module does not."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str = RULES

    def options(self) -> dict[str, Any]:
        return self.model_dump()


class Taxonomy(_Config):
    departments: dict[str, Names]
    categories: dict[str, Category]
    min_confidence: float = Field(gt=0, lt=1)
    full_evidence_score: float = Field(gt=0)
    hint_boost: float = Field(ge=0)
    fallback_category: str
    manual_queue_department: str
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    decisive: tuple[DecisiveRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Taxonomy:
        if self.fallback_category not in self.categories:
            raise ValueError(f"fallback_category {self.fallback_category!r} is not a category")
        for rule in self.decisive:
            if rule.category not in self.categories:
                raise ValueError(f"decisive rule {rule.name!r} names unknown category {rule.category!r}")
        if self.manual_queue_department not in self.departments:
            raise ValueError(f"manual_queue_department {self.manual_queue_department!r} is not a department")
        # The confidence a hint alone would have, computed as RuleClassifier does.
        if round(min(1.0, self.hint_boost / self.full_evidence_score), 3) >= self.min_confidence:
            raise ValueError("hint_boost alone would reach min_confidence; a hint must not classify alone")
        owner: dict[str, str] = {}
        for code, category in self.categories.items():
            if category.department not in self.departments:
                raise ValueError(f"category {code!r} names unknown department {category.department!r}")
            for phrase in category.phrases.all():
                # One phrase, one category: a phrase listed twice would be counted twice or for both.
                key = PhraseMatcher.key(phrase.text)
                if key in owner:
                    raise ValueError(f"phrase {phrase.text!r} in {code!r} repeats one in {owner[key]!r}")
                owner[key] = code
        return self

    def department_for(self, category: str) -> str:
        """The department that handles a category by default (the fallback category's for an unknown one)."""
        known = self.categories.get(category) or self.categories[self.fallback_category]
        return known.department

    def category_name(self, code: str, locale: str) -> str:
        category = self.categories.get(code)
        return category.name.get(locale) if category else code

    def department_name(self, code: str, locale: str) -> str:
        names = self.departments.get(code)
        return names.get(locale) if names else code

    def route(self, classification: Classification) -> str:
        """Where a classified complaint goes: the manual queue when the classifier was unsure."""
        if classification.manual_review:
            return self.manual_queue_department
        return self.department_for(classification.category)


def load_taxonomy(text: str | None = None) -> Taxonomy:
    """Parse a taxonomy document; the packaged config/taxonomy.yaml (read once) when `text` is None."""
    if text is None:
        return _packaged_taxonomy()
    return Taxonomy.model_validate(yaml.safe_load(text))


@cache
def _packaged_taxonomy() -> Taxonomy:
    text = resources.files("complaints").joinpath("config/taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.model_validate(yaml.safe_load(text))


# --------------------------------------------------------------------------- classifiers


class Classification(BaseModel):
    """What a classifier decided, and why: enough for a caseworker to agree or overrule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)
    source: str
    hint: str | None = None
    manual_review: bool = False


class Classifier(Protocol):
    def classify(self, text: str, hint: str | None = None) -> Classification: ...


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


ProviderFactory = Callable[[dict[str, Any]], Classifier]


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
