"""The Lambda layer installs exactly the runtime dependencies the project is tested with."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.template import ROOT

PROVIDED_BY_LAMBDA = {"boto3"}


def _by_name(lines: list[str]) -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in lines]
    by_name = {canonicalize_name(req.name): req for req in requirements}
    assert len(by_name) == len(requirements), "a package is listed twice"
    return by_name


@pytest.fixture(scope="module")
def project() -> dict[str, Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return _by_name(tomllib.load(file)["project"]["dependencies"])


@pytest.fixture(scope="module")
def layer() -> dict[str, Requirement]:
    text = (ROOT / "functions/layer/requirements.txt").read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return _by_name([line for line in lines if line])


def _pin(requirement: Requirement) -> str:
    return str(requirement.specifier)


def test_every_dependency_is_pinned_exactly(project, layer):
    for requirement in [*project.values(), *layer.values()]:
        (spec,) = requirement.specifier
        assert spec.operator == "==", str(requirement)


def test_every_layer_pin_equals_the_project_pin(project, layer):
    for name, requirement in layer.items():
        assert name in project, f"{name} is in the layer but not a project dependency"
        assert _pin(requirement) == _pin(project[name]), name
        assert requirement.extras == project[name].extras, name
        assert requirement.marker == project[name].marker, name


def test_every_runtime_dependency_but_boto3_is_in_the_layer(project, layer):
    assert set(project) - PROVIDED_BY_LAMBDA - set(layer) == set()


def test_boto3_comes_from_the_lambda_runtime(layer):
    assert "boto3" not in layer
