"""template.yaml as CloudFormation receives it: the SAM transform, run by aws-sam-translator (the library
SAM CLI and the CloudFormation macro run; pinned in the dev extra at the version SAM CLI pins) through
`infra.template.sam_transform`, the same call that builds the embedded stack. No AWS call: the
managed-policy lookup is a stub and the parameters are given. Local code paths become S3 locations, as
`sam package` makes them.

The SAM CLI itself (sam validate) lives in .venv-sam (`make sam`): its own pins (boto3, click) differ
from the project's."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.template import sam_transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_VENV = ROOT / ".venv-sam"
SAM = SAM_VENV / "bin" / "sam"


def require_sam_venv() -> None:
    if not SAM.exists():
        pytest.skip(f"no SAM CLI at {SAM}: `make sam` (or `make test`) installs it")


def transform_many(jobs: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """Transform template.yaml once per (region, parameter values), as infra/ does for the local stack."""
    return [sam_transform(TEMPLATE, region, parameters) for region, parameters in jobs]


@cache
def _transformed(region: str, parameters: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(transform_many([(region, dict(parameters))])[0])


def transformed(region: str = "us-east-1", **parameters: str) -> dict[str, Any]:
    """The transformed template (a fresh copy), for one region and parameter values."""
    return json.loads(_transformed(region, tuple(sorted(parameters.items()))))


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


_SUB = re.compile(r"\$\{([^}]+)\}")
NO_VALUE = object()  # AWS::NoValue


class Evaluator:
    """Evaluates the intrinsic functions of a transformed template as CloudFormation would for one stack:
    parameters (defaults, or the values given), conditions, pseudo parameters. Resources stay symbolic:
    `Ref X` is "<X>", `Fn::GetAtt X.Arn` is "<X.Arn>" (subclasses give them other values)."""

    def __init__(
        self, template: dict[str, Any], stack: str = "complaints", region: str = "us-east-1", **params: str
    ):
        self.template = template
        self.resources = template["Resources"]
        self.stack, self.region = stack, region
        self.parameters = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        unknown = set(params) - set(self.parameters)
        assert not unknown, f"the template has no parameter {unknown}"
        self.parameters.update(params)

    def ref_resource(self, logical_id: str) -> str:
        return f"<{logical_id}>"

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert logical_id in self.resources, logical_id
        return f"<{logical_id}.{attribute}>"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack,
            "AWS::Region": self.region,
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        assert name in self.resources, f"Ref to an unknown {name}"
        return self.ref_resource(name)

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if fn == "Fn::Join":
                return arg[0].join(str(self.value(part)) for part in arg[1])
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::If":
                name, if_true, if_false = arg
                return self.value(if_true if self.condition(name) else if_false)
            if fn == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.value(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
            assert not fn.startswith("Fn::"), f"{fn} is not evaluated here"
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg

        def substitute(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(self.value(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                return str(self.get_att(*token.split(".", 1)))
            return str(self.ref(token))

        return _SUB.sub(substitute, text)
