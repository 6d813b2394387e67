"""samconfig.toml: what `sam build`, `sam validate` and `sam deploy` take without being told."""

from __future__ import annotations

import inspect
import tomllib

import pytest

from tests.deploy.transform import ROOT, resources, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")

IAM_NAMES = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName"}


def _config() -> dict:
    with (ROOT / "samconfig.toml").open("rb") as file:
        return tomllib.load(file)["default"]


def test_the_stack_is_the_one_the_cli_reads_by_default():
    from complaints_cli.main import main

    default = inspect.signature(main).parameters["stack"].default
    assert _config()["global"]["parameters"]["stack_name"] == default


def test_deploy_asks_for_iam_capability_only_and_the_stack_names_no_iam_resource():
    deploy = _config()["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"  # CAPABILITY_NAMED_IAM would be needed for names
    assert deploy["resolve_s3"] is True
    template = transformed()
    for kind, name in IAM_NAMES.items():
        for logical_id, resource in resources(template, kind).items():
            assert name not in resource["Properties"], f"{logical_id} is named: CAPABILITY_NAMED_IAM needed"


def test_build_and_validate_defaults():
    config = _config()
    assert config["validate"]["parameters"]["lint"] is True
    assert config["build"]["parameters"]["cached"] is True
