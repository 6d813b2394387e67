"""Read template.yaml (the single source of truth) as AWS reads it: through the SAM transform
(aws-sam-translator, the library `sam deploy` itself runs), then as plain CloudFormation.

The embedded stack is built from what the transform produces, never from the SAM shorthand: the
AWS::Lambda::Function resources with their environment and execution role, the AWS::IAM::Role resources
with their expanded policies, the API's routes and stage from the AWS::ApiGateway::RestApi body, the
AWS::Scheduler::Schedule, the AWS::StepFunctions::StateMachine with its substitutions and role.

Intrinsic functions are resolved the way CloudFormation resolves them (Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
Fn::If with the template's Conditions, Fn::Select, Fn::Split). Local physical names are the logical ids
(a table is `CasesTable`, a function `IntakeApiFunction`), unless the template names the resource;
ARNs are built for the local account and region. Resources whose physical id only exists once created
(a secret's ARN) are resolved again once the stack knows them (`LocalTemplate.bind`).

Over 400 lines: the template as CloudFormation reads it and its one resolver of intrinsic functions belong
together; the stack and tests/deploy read both."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import cfn_yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
ARTIFACTS = "s3://local-artifacts/"  # where `sam package` would have put each local path
_SUB = re.compile(r"\$\{([^}]+)\}")
_INTEGRATION = re.compile(r":function:([^/:]+)")
_EXECUTE_API = re.compile(r"https://[^./]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com")
_URI_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")


@dataclass
class RoleSpec:
    logical_id: str
    name: str
    arn: str
    trust_policy: dict[str, Any]
    policies: dict[str, dict[str, Any]]  # inline: policy name -> document, intrinsics resolved
    managed_policy_arns: list[str]


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_mb: int = 128
    role: str = ""  # the logical id of its execution role
    api_routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, /path/{param})
    iam_routes: set[tuple[str, str]] = field(default_factory=set)  # the routes with AWS_IAM auth
    schedule_seconds: int | None = None
    dead_letter_arn: str | None = None  # where an asynchronous invoke's event goes after its retries

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
    role: str = ""  # the logical id of its role


@dataclass
class ReceiptRuleSpec:
    """An SES receipt rule: the recipients it matches (addresses or domains), then what it does with each
    email: store it in a bucket under a prefix, invoke a function with the SES event."""

    rule_set: str
    name: str
    recipients: list[str]
    bucket: str  # its physical name
    prefix: str
    function: str  # the logical id of the function it invokes
    invocation_type: str = "Event"
    scan: bool = False

    def matches(self, address: str) -> bool:
        """SES's match: the address itself, its domain, or (".example.com") any subdomain of one; with no
        recipients, every address."""
        address = address.lower()
        domain = address.rpartition("@")[2]
        for recipient in (r.lower() for r in self.recipients):
            if recipient in (address, domain):
                return True
            if recipient.startswith(".") and domain.endswith(recipient):
                return True
        return not self.recipients


@dataclass
class LocalTemplate:
    region: str
    stack_name: str
    functions: dict[str, FunctionSpec]
    tables: dict[str, TableSpec]
    state_machines: dict[str, StateMachineSpec]
    parameters: dict[str, str]
    secrets: list[str] = field(default_factory=list)  # by logical id (their local name)
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)  # the API's stages; the first is the one it serves
    email_identities: list[str] = field(default_factory=list)  # the SES identities the stack sends as
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue name
    receipt_rules: list[ReceiptRuleSpec] = field(default_factory=list)
    api_endpoint: str | None = None  # where the local gateway serves what API Gateway would
    cloudformation: dict[str, Any] = field(default_factory=dict, repr=False)  # after the transform
    physical: dict[str, str] = field(default_factory=dict)

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{logical_id}"

    @property
    def stage(self) -> str:
        return self.stages[0]

    def bind(self, physical: dict[str, str]) -> LocalTemplate:
        """The same template resolved again with these physical ids (logical id -> what Ref gives)."""
        return _build(
            self.cloudformation,
            self.region,
            self.stack_name,
            self.parameters,
            {**self.physical, **physical},
            self.api_endpoint,
        )


def _rate_seconds(expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def sam_transform(
    path: Path = ROOT / "template.yaml", region: str = "us-east-1", parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would submit (local paths as packaged S3 URIs); what is
    known only per stack (its name, the account) stays a Ref, as CloudFormation receives it."""
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its metrics' "unpublished" warning
    document = json.loads(json.dumps(cfn_yaml.load(str(path))))  # plain dicts, no line-number types
    for resource in document.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for name in _URI_PROPERTIES:
            if isinstance(props.get(name), str) and not props[name].startswith("s3://"):
                props[name] = ARTIFACTS + props[name]
    session = boto3.Session(region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused")  # noqa: S106 - no call is made
    translator = Translator(None, Parser(), boto_session=session)
    values = {**(parameters or {}), "AWS::Region": region}
    return translator.translate(document, parameter_values=values, get_managed_policy_map=lambda: {})


class Resolver:
    """Evaluates a transformed template's intrinsic functions for one stack, as CloudFormation does:
    parameters (defaults, or the values given), conditions, pseudo parameters; a resource's Ref and
    Fn::GetAtt are the local stack's physical ids and ARNs (`ref_resource` and `get_att`; the deploy
    tests override them to keep resources symbolic)."""

    def __init__(
        self,
        template: dict[str, Any],
        region: str,
        stack_name: str,
        overrides: dict[str, str],
        physical: dict[str, str],
    ):
        self.template = template
        self.resources = template["Resources"]
        self.region = region
        self.stack_name = stack_name
        self.physical = physical
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update({k: v for k, v in overrides.items() if k in self.parameters})
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def physical_name(self, logical_id: str) -> str:
        if logical_id in self.physical:
            return self.physical[logical_id]
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        for key in (
            "TableName",
            "FunctionName",
            "StateMachineName",
            "RoleName",
            "TopicName",
            "BucketName",
            "QueueName",
            "RuleSetName",
            "Name",
        ):
            if key in props:
                return str(self.resolve(props[key]))
        if resource["Type"] == "AWS::S3::Bucket":  # CloudFormation's are <stack>-<logical id>-<random>
            return f"{self.stack_name}-{logical_id}".lower()
        return logical_id

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        region, account = self.region, ACCOUNT
        return {
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{region}:{account}:stateMachine:{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{region}:{account}:secret:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{region}:{account}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{region}:{account}:key/{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
            "AWS::Lambda::LayerVersion": f"arn:aws:lambda:{region}:{account}:layer:{name}:1",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{account}:{name}",
        }.get(kind, f"arn:aws:local:{region}:{account}:{name}")

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT}:stack/{self.stack_name}/local",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref_resource(name)

    def ref_resource(self, name: str) -> Any:
        kind = self.resources[name]["Type"]
        # What Ref returns for each type (the CloudFormation reference): an ARN for these, a name otherwise.
        if kind in (
            "AWS::StepFunctions::StateMachine",
            "AWS::SecretsManager::Secret",
            "AWS::SNS::Topic",
            "AWS::Lambda::LayerVersion",
        ):
            return self.physical.get(name) or self.arn(name)
        return self.physical_name(name)

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.resources[name]["Type"]
        if attribute == "Arn":
            return self.arn(name)
        if kind == "AWS::StepFunctions::StateMachine" and attribute == "Name":
            return self.physical_name(name)
        if (kind, attribute) in (("AWS::SNS::Topic", "TopicName"), ("AWS::SQS::Queue", "QueueName")):
            return self.physical_name(name)
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            return "root"
        raise ValueError(f"Fn::GetAtt {name}.{attribute} is not resolved locally")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not None}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def substitute(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + token[1:] + "}"
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                return self.get_att(*token.split(".", 1))
            return str(self.ref(token))

        return _SUB.sub(substitute, text)


def _local_path(uri: Any) -> str:
    if isinstance(uri, dict):  # Code: {S3Bucket, S3Key} or DefinitionS3Location: {Bucket, Key}
        uri = uri.get("S3Key") or uri.get("Key")
    return str(uri).removeprefix(ARTIFACTS)


def load(
    path: Path = ROOT / "template.yaml",
    region: str = "us-east-1",
    stack_name: str = "complaints-local",
    parameters: dict[str, str] | None = None,
    api_endpoint: str | None = None,
) -> LocalTemplate:
    """`api_endpoint`: the local gateway's URL, which the functions' settings name where the template
    names the API's own (https://<api id>.execute-api.<region>.amazonaws.com)."""
    cloudformation = sam_transform(path, region, parameters)
    cloudformation["_base"] = str(path.parent)
    return _build(cloudformation, region, stack_name, parameters or {}, {}, api_endpoint)


def _build(
    cloudformation: dict[str, Any],
    region: str,
    stack_name: str,
    parameters: dict[str, str],
    physical: dict[str, str],
    api_endpoint: str | None = None,
) -> LocalTemplate:
    resolver = Resolver(cloudformation, region, stack_name, parameters, physical)
    base = Path(cloudformation["_base"])
    functions: dict[str, FunctionSpec] = {}
    tables: dict[str, TableSpec] = {}
    machines: dict[str, StateMachineSpec] = {}
    roles: dict[str, RoleSpec] = {}
    secrets: list[str] = []
    stages: list[str] = []  # AWS::ApiGateway::Stage first: the stage the template configures
    apis: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    identities: list[str] = []
    buckets: dict[str, str] = {}
    queues: dict[str, str] = {}
    rules: list[ReceiptRuleSpec] = []
    for logical_id, resource in cloudformation["Resources"].items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_uri=(base / _local_path(props["Code"])).resolve(),
                handler=props["Handler"],
                environment={
                    k: str(v)
                    for k, v in resolver.resolve(props.get("Environment", {}).get("Variables", {})).items()
                },
                timeout=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                role=props["Role"]["Fn::GetAtt"][0],
                dead_letter_arn=resolver.resolve(props.get("DeadLetterConfig", {})).get("TargetArn"),
            )
        elif kind == "AWS::IAM::Role":
            roles[logical_id] = RoleSpec(
                logical_id=logical_id,
                name=resolver.physical_name(logical_id),
                arn=resolver.arn(logical_id),
                trust_policy=resolver.resolve(props["AssumeRolePolicyDocument"]),
                policies={
                    p["PolicyName"]: resolver.resolve(p["PolicyDocument"]) for p in props.get("Policies", [])
                },
                managed_policy_arns=resolver.resolve(props.get("ManagedPolicyArns", [])),
            )
        elif kind == "AWS::SecretsManager::Secret":
            secrets.append(logical_id)
        elif kind == "AWS::DynamoDB::Table":
            tables[logical_id] = TableSpec(logical_id, resolver.resolve(props))
        elif kind == "AWS::StepFunctions::StateMachine":
            definition = (base / _local_path(props["DefinitionS3Location"])).read_text(encoding="utf-8")
            for name, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
                definition = definition.replace("${" + name + "}", str(value))
            unresolved = re.findall(r"\$\{[A-Za-z0-9_]+\}", definition)
            if unresolved:
                raise ValueError(f"{logical_id}: unresolved substitutions {unresolved}")
            json.loads(definition)
            machines[logical_id] = StateMachineSpec(
                logical_id,
                resolver.physical_name(logical_id),
                definition,
                props.get("StateMachineType", "STANDARD"),
                props["RoleArn"]["Fn::GetAtt"][0],
            )
        elif kind == "AWS::ApiGateway::RestApi":
            apis.append(resolver.resolve(props["Body"]))
        elif kind == "AWS::ApiGateway::Stage":
            stages.insert(0, str(resolver.resolve(props["StageName"])))
        elif kind == "AWS::ApiGateway::Deployment" and "StageName" in props:
            stages.append(str(resolver.resolve(props["StageName"])))  # SAM's extra stage "Stage"
        elif kind == "AWS::Scheduler::Schedule":
            schedules.append(resolver.resolve(props))
        elif kind == "AWS::SES::EmailIdentity":
            identities.append(str(resolver.resolve(props["EmailIdentity"])))
        elif kind == "AWS::S3::Bucket":
            buckets[logical_id] = resolver.physical_name(logical_id)
        elif kind == "AWS::SQS::Queue":
            queues[logical_id] = resolver.physical_name(logical_id)
        elif kind == "AWS::SES::ReceiptRule":
            rules.append(_receipt_rule(resolver, props))
    by_arn = {resolver.arn(name): spec for name, spec in functions.items()}
    for body in apis:
        for path, methods in body.get("paths", {}).items():
            for method, operation in methods.items():
                if not isinstance(operation, dict) or "x-amazon-apigateway-integration" not in operation:
                    continue
                uri = operation["x-amazon-apigateway-integration"]["uri"]
                spec = functions[_INTEGRATION.search(uri).group(1)]
                route = (method.upper(), path)
                spec.api_routes.append(route)
                if any("AWS_IAM" in entry for entry in operation.get("security", [])):
                    spec.iam_routes.add(route)
    if api_endpoint:
        for spec in functions.values():
            spec.environment = {k: _EXECUTE_API.sub(api_endpoint, v) for k, v in spec.environment.items()}
    for schedule in schedules:
        by_arn[schedule["Target"]["Arn"]].schedule_seconds = _rate_seconds(schedule["ScheduleExpression"])
    if not identities:
        # The sender's identity (its domain, when SenderIdentity names one, as a domain-verified sender
        # has no identity of its own address) and the ops address, verified on the local SES.
        params = resolver.parameters
        sender = params.get("SenderIdentity") or params.get("SenderEmail")
        identities = [v for v in (sender, params.get("OpsEmail")) if v]
    return LocalTemplate(
        region=region,
        stack_name=stack_name,
        functions=functions,
        tables=tables,
        state_machines=machines,
        parameters=resolver.parameters,
        secrets=secrets,
        roles=roles,
        stages=list(dict.fromkeys(stages)),
        email_identities=identities,
        buckets=buckets,
        queues=queues,
        receipt_rules=rules,
        api_endpoint=api_endpoint,
        cloudformation=cloudformation,
        physical=physical,
    )


def _receipt_rule(resolver: Resolver, props: dict[str, Any]) -> ReceiptRuleSpec:
    rule = resolver.resolve(props["Rule"])
    actions = rule.get("Actions", [])
    store = next(a["S3Action"] for a in actions if "S3Action" in a)
    invoke = next(a["LambdaAction"] for a in actions if "LambdaAction" in a)
    return ReceiptRuleSpec(
        rule_set=str(resolver.resolve(props["RuleSetName"])),
        name=rule["Name"],
        recipients=[str(r) for r in rule.get("Recipients", [])],
        bucket=store["BucketName"],
        prefix=store.get("ObjectKeyPrefix", ""),
        function=invoke["FunctionArn"].rsplit(":", 1)[1],
        invocation_type=invoke.get("InvocationType", "Event"),
        scan=bool(rule.get("ScanEnabled", False)),
    )
