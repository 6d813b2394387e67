"""The phrase matcher of the classifier: phrases found in complaint text, Chinese (and other unspaced
scripts) as substrings, English word by word on stemmed words, whatever the width, case or apostrophes."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Han ideographs (and their compatibility and extension blocks), kana and hangul: scripts written
# without spaces between words, where a phrase can only be looked for as a substring.
_UNSPACED = re.compile(
    r"[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)


# A word of a spaced script: letters and digits, with inner apostrophes (can't, user's).
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


# A Snowball stemmer keeps the word it works on in itself: one per thread, so that concurrent
# invocations in one process (the embedded stack runs a function's containers as threads) never share one.
_STEMMERS = threading.local()


def _normalise(text: str) -> str:
    """NFKC folds full-width letters and digits (ＡＰＰ, １２３) to ASCII; casefold ignores case;
    typographic apostrophes become straight ones so "can’t" is one word."""
    return unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("\u2018", "'")


@lru_cache(maxsize=8192)  # bounded: the words come from customers' text
def _stem(word: str) -> str:
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


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
