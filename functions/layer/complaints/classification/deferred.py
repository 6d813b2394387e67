"""The packaged classifier, built on its first use rather than at cold start.

Building it parses config/taxonomy.yaml and compiles every phrase: work a handler that never classifies
(the reconciler, a status page) should not pay for at import. The first `classify` builds it once per
container (functools.cache); every later call reuses it. This module imports nothing of the
classifier's until then."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from complaints.classification.classifier import Classifier
    from complaints.classification.taxonomy import Classification


_building = threading.Lock()


@cache
def _build() -> Classifier:
    from complaints.classification.classifier import classifier_from_config
    from complaints.classification.taxonomy import load_taxonomy

    return classifier_from_config(load_taxonomy())


def _built() -> Classifier:
    """Built once: concurrent first uses (the embedded stack's containers are threads) wait for it."""
    with _building:
        return _build()


class _OnFirstUse:
    def classify(self, text: str, hint: str | None = None) -> Classification:
        return _built().classify(text, hint)


def packaged_classifier() -> Classifier:
    """The classifier the packaged taxonomy asks for, built when it first classifies."""
    return _OnFirstUse()
