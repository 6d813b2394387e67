"""The template as CloudFormation receives it lints clean, and SAM CLI's own validation passes.

cfn-lint on template.yaml itself does not see through AWS::Serverless::* resources: its circular
dependency rule (E3004) skips them, so a cycle that CloudFormation refuses only shows after the SAM
transform. Here cfn-lint runs on the transformed template, where every resource is plain CloudFormation."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata

import pytest
from cfnlint.api import lint

from tests.deploy.transform import ROOT, SAM, SAM_VENV, TEMPLATE, require_sam_venv, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")


def _lint(template: dict, region: str) -> list[str]:
    return [
        f"{m.rule.id} {m.message} {'/'.join(str(p) for p in m.path)}"
        for m in lint(json.dumps(template), regions=[region])
    ]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_transformed_template_lints_clean_cycles_included(region):
    found = _lint(transformed(region), region)
    assert found == [], "\n".join(found)


def test_sam_validate_lint_passes():
    require_sam_venv()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "SAM_CLI_TELEMETRY": "0",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(TEMPLATE), "--region", "us-east-1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


_AUTH_QUESTIONS = """
import json, sys
from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
stacks, _ = SamLocalStackProvider.get_stacks(sys.argv[1])
print(json.dumps([name for name, authorized in auth_per_resource(stacks) if not authorized]))
"""


def test_sam_deploy_guided_asks_no_authentication_question():
    """`sam deploy --guided` asks "<function> has no authentication. Is this okay? [y/N]" once per API event
    without Auth (answering with Enter aborts the deploy): every event states its Auth."""
    require_sam_venv()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(ROOT), "SAM_CLI_TELEMETRY": "0"}
    command = [str(SAM.with_name("python")), "-c", _AUTH_QUESTIONS, str(TEMPLATE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_tests_transform_with_the_translator_sam_cli_runs():
    require_sam_venv()
    (info,) = SAM_VENV.glob("lib/python*/site-packages/aws_sam_translator-*.dist-info")
    used_by_sam = info.name.removesuffix(".dist-info").rsplit("-", 1)[1]
    assert metadata.version("aws-sam-translator") == used_by_sam, "pin the dev extra at SAM CLI's version"
