"""The phrase matcher used from many threads at once, as the embedded stack's containers of one function
(threads of one process) use it: every word stems as it does alone."""

from __future__ import annotations

import itertools
import string
from concurrent.futures import ThreadPoolExecutor

import snowballstemmer

from complaints.classification import matcher

SUFFIXES = ("ational", "ization", "fulness", "iveness", "ement", "ing", "edly", "ously", "alism", "ences")


def _words(thread: int, count: int) -> list[str]:
    """Words no other thread stems (the stem cache cannot answer for the stemmer)."""
    stems = ("".join(letters) for letters in itertools.product(string.ascii_lowercase, repeat=3))
    return [f"{stem}{thread:02d}x{suffix}" for stem, suffix in zip(stems, itertools.cycle(SUFFIXES))][:count]


def test_words_stemmed_in_many_threads_at_once_stem_as_they_do_alone():
    alone = snowballstemmer.stemmer("english")
    batches = [_words(thread, 3000) for thread in range(8)]
    expected = [[alone.stemWord(word) for word in batch] for batch in batches]

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda batch: [matcher._stem(word) for word in batch], batches))

    assert found == expected
