"""Which language a complainant is answered in, and that every text exists in every language."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest

from complaints.core.locale import DEFAULT, SUPPORTED, negotiate, normalise_locale
from complaints.presentation.i18n import _catalogue, messages


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN", "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("en;q=0.4, zh-CN;q=0.9", "zh-CN"),
        ("zh-CN;q=0.5, en;q=0.8", "en"),
        ("zh-CN, en", "zh-CN"),  # equal weights: the first listed wins
        ("en, zh-CN", "en"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN;q=0.9, en;q=0.1", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("fr-FR, de;q=0.9, zh-CN;q=0.2", "zh-CN"),  # unsupported ones are passed over
        ("zh-TW, en;q=0.5", "en"),  # traditional Chinese is not spoken here: fall through
        ("zh-Hant, zh-CN;q=0.3", "zh-CN"),
        ("zh-CN;q=0, en", "en"),  # q=0 means "not this one"
        ("zh-CN;q=0", "en"),
        ("en;q=0.1, *", "en"),
        ("*;q=0.9, zh-CN;q=0.5", "zh-CN"),
    ],
)
def test_accept_language_picks_the_best_supported_locale(header, locale):
    assert negotiate(header) == locale


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "*", "zh-TW", "fr, de", "!!!", ";;;,,,", "q=1", "zh-CN;q=abc", "en;q=", "\x00\xff"],
)
def test_without_a_usable_language_the_answer_is_english(header):
    assert negotiate(header) == "en"


def test_english_is_the_default():
    assert DEFAULT == "en"
    assert SUPPORTED == ("en", "zh-CN")


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        (" EN ", "en"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_cn", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),
        ("zh-TW", None),
        ("zh-HK", None),
        ("zh-Hant", None),
        ("fr", None),
        ("english", None),
        ("", None),
    ],
)
def test_normalise_locale(tag, locale):
    assert normalise_locale(tag) == locale


def _shape(node: Any, path: str = "") -> set[str]:
    """Every key path in a catalogue; lists contribute their length so no line is missing."""
    if isinstance(node, dict):
        paths = set()
        for key, value in node.items():
            paths |= {f"{path}.{key}".lstrip(".")} | _shape(value, f"{path}.{key}".lstrip("."))
        return paths
    if isinstance(node, list):
        return {f"{path}[{len(node)}]"}
    return set()


def test_the_catalogue_has_exactly_the_supported_locales():
    assert set(_catalogue()) == set(SUPPORTED)


def test_every_message_exists_in_english_and_in_chinese():
    english, chinese = _shape(_catalogue()["en"]), _shape(_catalogue()["zh-CN"])

    assert english - chinese == set(), "missing in zh-CN"
    assert chinese - english == set(), "missing in en"
    assert len(english) > 50  # the walk really descended


def _leaves(node: Any, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}".lstrip("."))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_message_is_a_non_empty_string(locale):
    for path, value in _leaves(_catalogue()[locale]):
        assert isinstance(value, str) and value.strip(), f"{locale}: {path}"


def test_translations_use_the_same_placeholders():
    chinese = dict(_leaves(_catalogue()["zh-CN"]))
    for path, text in _leaves(_catalogue()["en"]):
        assert _placeholders(text) == _placeholders(chinese[path]), path


def test_chinese_messages_are_in_chinese():
    chinese = messages("zh-CN")
    for text in (chinese["ack"]["subject"], chinese["timeline"]["RECEIVED"], chinese["errors"]["not_found"]):
        assert re.search(r"[\u4e00-\u9fff]", text), text


def test_an_unknown_locale_falls_back_to_english():
    assert messages("fr") == messages("en")
    assert messages("zh-CN") != messages("en")
