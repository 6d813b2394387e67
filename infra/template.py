"""Read template.yaml (the single source of truth) into what the embedded stack creates and runs.

Only the intrinsic functions the template uses are resolved: Ref, Fn::GetAtt, Fn::Sub. Local physical
names are the logical ids; ARNs are built for the local account and region."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    api_routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, /path/{param})
    iam_routes: set[tuple[str, str]] = field(default_factory=set)  # the routes with Auth AWS_IAM
    schedule_seconds: int | None = None

    @property
    def module_file(self) -> Path:
        return self.code_uri / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def function_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass
class TableSpec:
    logical_id: str
    properties: dict[str, Any]


@dataclass
class StateMachineSpec:
    logical_id: str
    name: str
    definition: str
    type: str


@dataclass
class LocalTemplate:
    region: str
    functions: dict[str, FunctionSpec]
    tables: dict[str, TableSpec]
    state_machines: dict[str, StateMachineSpec]
    parameters: dict[str, str]
    secrets: list[str] = field(default_factory=list)  # generated secrets, by logical id (their local name)

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{logical_id}"


def _rate_seconds(expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


class _Resolver:
    def __init__(self, template: dict[str, Any], region: str, stack_name: str, overrides: dict[str, str]):
        self.template = template
        self.region = region
        self.stack_name = stack_name
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update({k: v for k, v in overrides.items() if k in self.parameters})

    def state_machine_name(self, logical_id: str) -> str:
        props = self.template["Resources"][logical_id]["Properties"]
        return self.resolve(props["Name"]) if "Name" in props else logical_id

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.template["Resources"][name]
        kind = resource["Type"]
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{self.region}:{ACCOUNT}:stateMachine:{self.state_machine_name(name)}"
        return name  # tables, functions, APIs: the logical id is the local physical name

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.template["Resources"][name]["Type"]
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"
        if kind == "AWS::Serverless::StateMachine" and attribute == "Name":
            return self.state_machine_name(name)
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{name}"
        raise ValueError(f"Fn::GetAtt {name}.{attribute} is not resolved locally")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def substitute(match: re.Match) -> str:
                    token = match.group(1)
                    if token in variables:
                        return str(self.resolve(variables[token]))
                    if "." in token and not token.startswith("AWS::"):
                        return self.get_att(*token.split(".", 1))
                    return self.ref(token)

                return _SUB.sub(substitute, text)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def load(
    path: Path = ROOT / "template.yaml",
    region: str = "us-east-1",
    stack_name: str = "complaints-local",
    parameters: dict[str, str] | None = None,
) -> LocalTemplate:
    template = cfn_yaml.load(str(path))
    resolver = _Resolver(template, region, stack_name, parameters or {})
    base = path.parent
    global_fn = template.get("Globals", {}).get("Function", {})
    global_env = global_fn.get("Environment", {}).get("Variables", {})
    functions: dict[str, FunctionSpec] = {}
    tables: dict[str, TableSpec] = {}
    machines: dict[str, StateMachineSpec] = {}
    secrets: list[str] = []
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            spec = FunctionSpec(
                logical_id=logical_id,
                code_uri=(base / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                environment={k: str(v) for k, v in resolver.resolve(env).items()},
                timeout=int(props.get("Timeout", global_fn.get("Timeout", 3))),
            )
            for event in props.get("Events", {}).values():
                event_props = event.get("Properties", {})
                if event["Type"] == "Api":
                    route = (event_props["Method"].upper(), event_props["Path"])
                    spec.api_routes.append(route)
                    if event_props.get("Auth", {}).get("Authorizer") == "AWS_IAM":
                        spec.iam_routes.add(route)
                elif event["Type"] in ("Schedule", "ScheduleV2"):
                    expression = event_props.get("Schedule") or event_props["ScheduleExpression"]
                    spec.schedule_seconds = _rate_seconds(expression)
            functions[logical_id] = spec
        elif kind == "AWS::SecretsManager::Secret":
            secrets.append(logical_id)
        elif kind == "AWS::DynamoDB::Table":
            tables[logical_id] = TableSpec(logical_id, resolver.resolve(props))
        elif kind == "AWS::Serverless::StateMachine":
            definition = (base / props["DefinitionUri"]).read_text(encoding="utf-8")
            for name, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
                definition = definition.replace("${" + name + "}", str(value))
            unresolved = re.findall(r"\$\{[A-Za-z0-9_]+\}", definition)
            if unresolved:
                raise ValueError(f"{logical_id}: unresolved substitutions {unresolved}")
            json.loads(definition)
            machines[logical_id] = StateMachineSpec(
                logical_id, resolver.state_machine_name(logical_id), definition, props.get("Type", "STANDARD")
            )
    return LocalTemplate(region, functions, tables, machines, resolver.parameters, secrets)
