"""The Lambda layer installs exactly the runtime dependencies the project is tested with.

functions/layer/requirements.txt (what `sam build` installs into the layer) and pyproject.toml's
dependencies (what the tests run on) are one list: every package pinned, the transitive ones too, so that
nothing pip resolves at build time differs from what was tested. The layer comes before the Lambda
runtime's boto3 on sys.path and aws-xray-sdk needs botocore: boto3 and botocore ship together in it."""

from __future__ import annotations

import tomllib
from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from infra.template import ROOT

# The Lambda runtime the layer is built for (template.yaml: python3.12, arm64).
LAMBDA_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
    "os_name": "posix",
}


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


def _pin(requirement: Requirement) -> Version:
    (spec,) = requirement.specifier
    assert spec.operator == "==", str(requirement)
    return Version(spec.version)


def test_every_dependency_is_pinned_exactly(project, layer):
    for requirement in [*project.values(), *layer.values()]:
        _pin(requirement)
        assert requirement.marker is None, f"{requirement}: the layer is built for one platform"


def test_the_layer_installs_exactly_the_project_dependencies(project, layer):
    assert set(layer) == set(project)
    for name, requirement in layer.items():
        assert _pin(requirement) == _pin(project[name]), name
        assert requirement.extras == project[name].extras, name


def test_the_tests_run_on_the_pinned_versions(layer):
    for name, requirement in layer.items():
        assert Version(metadata.version(name)) == _pin(requirement), f"{name}: run `make .venv/.installed`"


def _needs(name: str, extras: set[str]) -> list[Requirement]:
    """What a pinned package requires on the Lambda runtime, with the extras asked of it."""
    needed = []
    for line in metadata.requires(name) or []:
        requirement = Requirement(line)
        marker = requirement.marker or Marker("python_version >= '0'")
        if any(marker.evaluate({**LAMBDA_ENVIRONMENT, "extra": extra}) for extra in extras | {""}):
            needed.append(requirement)
    return needed


def test_the_pins_are_complete_and_consistent(layer):
    """Every package a pinned one needs on Python 3.12 Linux is pinned too, at a version it accepts: pip
    has nothing left to choose when `sam build` installs the layer."""
    extras = {name: set(req.extras) for name, req in layer.items()}
    for name in layer:
        for needed in _needs(name, extras[name]):
            wanted = canonicalize_name(needed.name)
            assert wanted in layer, f"{name} needs {needed}, which is not pinned"
            assert needed.specifier.contains(_pin(layer[wanted]), prereleases=True), (
                f"{name} needs {needed}; pinned {layer[wanted]}"
            )
            assert set(needed.extras) <= extras[wanted], f"{name} needs {needed}: pin it with those extras"


def test_boto3_ships_with_its_botocore(layer):
    """Not the runtime's boto3 beside the layer's botocore (aws-xray-sdk needs botocore, so pip puts one in
    the layer whatever requirements.txt says): the whole set, as tested."""
    assert {"boto3", "botocore", "s3transfer", "jmespath", "urllib3"} <= set(layer)
