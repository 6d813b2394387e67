"""template.yaml as CloudFormation receives it: the SAM transform, run by aws-sam-translator (the library
SAM CLI and the CloudFormation macro run; pinned in the dev extra at the version SAM CLI pins) through
`infra.template.sam_transform`, the same call that builds the embedded stack. No AWS call: the
managed-policy lookup is a stub and the parameters are given. Local code paths become S3 locations, as
`sam package` makes them.

The SAM CLI itself (sam validate) lives in .venv-sam (`make sam`): its own pins (boto3, click) differ
from the project's."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.template import Resolver, sam_transform

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


class Evaluator(Resolver):
    """Evaluates the intrinsic functions of a transformed template as CloudFormation would for one stack
    (infra.template.Resolver): parameters (defaults, or the values given), conditions, pseudo parameters.
    Resources stay symbolic: `Ref X` is "<X>", `Fn::GetAtt X.Arn` is "<X.Arn>" (subclasses give them
    other values)."""

    def __init__(
        self, template: dict[str, Any], stack: str = "complaints", region: str = "us-east-1", **params: str
    ):
        unknown = set(params) - set(template.get("Parameters", {}))
        assert not unknown, f"the template has no parameter {unknown}"
        super().__init__(template, region, stack, params, {})
        self.stack = stack

    def ref_resource(self, logical_id: str) -> str:
        assert logical_id in self.resources, f"Ref to an unknown {logical_id}"
        return f"<{logical_id}>"

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert logical_id in self.resources, logical_id
        return f"<{logical_id}.{attribute}>"

    def value(self, node: Any) -> Any:
        return self.resolve(node)
