"""YAML documents (the packaged config, or text given in its place) read with PyYAML's safe loader.

On libyaml where PyYAML was built with it (its wheels are): the same safe constructor and resolver, so
the same values, parsed about eight times faster, which counts at every cold start (policy.yaml and
triage.yaml there, taxonomy.yaml and messages.yaml on first use). Only the wording of a syntax error's
message can differ; it is a yaml.YAMLError either way."""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """What yaml.safe_load(text) returns."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader: PyYAML's SafeLoader in C)
