"""The taxonomy in config/taxonomy.yaml: categories, their phrases and weights, departments, the decisive
rules, and what a classification says."""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from itertools import pairwise, product
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from complaints.classification.matcher import PhraseMatcher
from complaints.core import yamltext

log = logging.getLogger(__name__)


RULES = "rules"


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
    return Taxonomy.model_validate(yamltext.safe_load(text))


@cache
def _packaged_taxonomy() -> Taxonomy:
    text = resources.files("complaints").joinpath("config/taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.model_validate(yamltext.safe_load(text))


class Classification(BaseModel):
    """What a classifier decided, and why: enough for a caseworker to agree or overrule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)
    source: str
    hint: str | None = None
    manual_review: bool = False
