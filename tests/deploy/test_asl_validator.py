"""asl-validator (npm, pinned in package.json; `make test` installs it with `npm ci`) accepts the definition
as CloudFormation hands it to Step Functions: the DefinitionSubstitutions of template.yaml filled in with
ARNs of the shape a deployed stack gives them. It checks the language's schema and every path expression,
which neither moto nor the tests of the local stack do."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from infra.template import ROOT

ASL = ROOT / "statemachine" / "complaint.asl.json"
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def plausible_arn(value: Any, resources: dict[str, Any]) -> str:
    """What CloudFormation substitutes for `!GetAtt <Function>.Arn`, on a stack named `complaints`."""
    logical_id, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn" and resources[logical_id]["Type"] == "AWS::Serverless::Function", value
    return f"arn:aws:lambda:eu-west-1:123456789012:function:complaints-{logical_id}-Q7b2XkR9mN4p"


def deployed_definition() -> str:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    resources = template["Resources"]
    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine"]
    arns = {
        name: plausible_arn(value, resources)
        for name, value in machine["Properties"]["DefinitionSubstitutions"].items()
    }
    definition = re.sub(r"\$\{(\w+)\}", lambda found: arns[found.group(1)], ASL.read_text(encoding="utf-8"))
    assert "${" not in definition
    return definition


def validate(definition: str, tmp_path: Path) -> subprocess.CompletedProcess:
    if not VALIDATOR.exists():
        pytest.fail(f"{VALIDATOR} is missing: `make test` installs it (npm ci)")
    path = tmp_path / "complaint.asl.json"
    path.write_text(definition, encoding="utf-8")
    return subprocess.run(
        [str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_asl_validator_accepts_the_definition_as_deployed(tmp_path):
    definition = deployed_definition()
    assert "arn:aws:lambda:eu-west-1:123456789012:function:complaints-RemedyFunction-" in definition

    done = validate(definition, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stdout


def test_asl_validator_refuses_a_definition_step_functions_would_refuse(tmp_path):
    definition = json.loads(deployed_definition())
    definition["States"]["Apply remedy"]["Parameters"]["Payload"]["complaintId.$"] = "complaintId"  # no "$."

    done = validate(json.dumps(definition), tmp_path)

    assert done.returncode == 1
    assert "/States/Apply remedy/Parameters/Payload/complaintId.$ is invalid" in done.stdout + done.stderr
