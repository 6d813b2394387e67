"""What ops rely on in template.yaml's monitoring section.

Every function has an errors alarm and a throttles alarm; every alarm notifies OpsTopic, which emails
OpsEmail; each alarm on a custom metric watches a metric name and dimension set its handler really emits
(the handlers run here, as Lambda runs them, on stub services, and their EMF output is read); the
dashboard is JSON once CloudFormation has substituted it, and shows only metrics that exist.

Over 400 lines: the alarms, the dashboard and the metrics the handlers emit are checked against each other."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from complaints import wiring
from complaints.approval.contracts import ApprovalPlan
from complaints.core.models import Accepted, Status
from complaints.intake.service import Submission
from complaints.investigation.contracts import Asked
from complaints.supervision.casework import FailureRecord
from complaints.triage.service import SpikeOutcome
from infra import template as local_template
from infra.gateway import proxy_event
from infra.lambdas import FunctionRuntime
from infra.template import ROOT, FunctionSpec

TEMPLATE = ROOT / "template.yaml"
NAMESPACE = "Complaints"
OPS_TOPIC = {"Ref": "OpsTopic"}
PSEUDO = {"AWS::Region": "eu-west-1", "AWS::StackName": "complaints-prod", "AWS::AccountId": "123456789012"}

# An emitted metric: (namespace, metric name, its dimensions as a frozenset of (name, value) pairs).
Emission = tuple[str, str, frozenset[tuple[str, str]]]


# ------------------------------------------------------------------ the template


def _properties(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The properties of every resource of one type, by logical id."""
    resources = template["Resources"].items()
    return {name: res.get("Properties", {}) for name, res in resources if res["Type"] == kind}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="module")
def alarms(template) -> dict[str, dict[str, Any]]:
    return _properties(template, "AWS::CloudWatch::Alarm")


@pytest.fixture(scope="module")
def functions() -> dict[str, FunctionSpec]:
    """Every function of the template as the local stack reads it: handler file, resolved environment."""
    return local_template.load().functions


def _dimensions(dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in dimensions}


def _watched(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, dimensions) of every metric an alarm reads, plain or in metric math."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], _dimensions(alarm.get("Dimensions", [])))]
    watched = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dimensions = _dimensions(metric.get("Dimensions", []))
            watched.append((metric["Namespace"], metric["MetricName"], dimensions))
    return watched


def _alarms_on(alarms, namespace: str, metric: str, dimensions: dict[str, Any]) -> list[str]:
    return [name for name, alarm in alarms.items() if (namespace, metric, dimensions) in _watched(alarm)]


def _fires_on_one(alarm: dict[str, Any]) -> bool:
    threshold = float(alarm["Threshold"])
    operator = alarm["ComparisonOperator"]
    return (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1) or (
        operator == "GreaterThanThreshold" and threshold < 1
    )


# ------------------------------------------------------------------ notification


def test_ops_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_emails_ops(template):
    resources = template["Resources"]
    topic = resources["OpsTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    props = topic["Properties"]
    assert props["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "OpsEmail"}}]
    # Alarms can publish to an encrypted topic only if the key's policy lets CloudWatch use it, which the
    # AWS managed alias/aws/sns key never does: the topic must use a key of this stack.
    key = props["KmsMasterKeyId"]
    assert key == {"Ref": "OpsTopicKey"}
    assert resources["OpsTopicKey"]["Type"] == "AWS::KMS::Key"
    statements = resources["OpsTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and cloudwatch[0]["Effect"] == "Allow"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])
    assert template["Outputs"]["OpsTopicArn"]["Value"] == OPS_TOPIC


def test_every_alarm_notifies_ops_and_only_ops(alarms):
    for name, alarm in alarms.items():
        assert alarm.get("ActionsEnabled", True) is True, name
        assert alarm["AlarmActions"] == [OPS_TOPIC], name
        for kind in ("OKActions", "InsufficientDataActions"):
            assert alarm.get(kind, [OPS_TOPIC]) == [OPS_TOPIC], f"{name} {kind}"


def test_every_alarm_tells_ops_what_to_do(alarms):
    for name, alarm in alarms.items():
        description = alarm["AlarmDescription"]
        text = description["Fn::Sub"] if isinstance(description, dict) else description
        assert "What to do:" in text, name
        # CloudWatch takes 1024 characters; the rest is room for the names !Sub puts in.
        assert len(text) <= 900, f"{name}: {len(text)} characters"


def test_counting_alarms_treat_no_data_as_nothing_happened(alarms):
    for name, alarm in alarms.items():
        if alarm.get("Statistic") == "Sum":
            assert alarm["TreatMissingData"] == "notBreaching", name


# ------------------------------------------------------------------ AWS metrics


def test_every_function_has_an_errors_alarm_and_a_throttles_alarm_that_fire_on_one(template, alarms):
    for function in _properties(template, "AWS::Serverless::Function"):
        for metric in ("Errors", "Throttles"):
            found = _alarms_on(alarms, "AWS/Lambda", metric, {"FunctionName": {"Ref": function}})
            assert found, f"{function} has no {metric} alarm"
            for name in found:
                assert _fires_on_one(alarms[name]), f"{name}: one {metric.lower()} must be enough"


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
def test_executions_that_end_badly_raise_an_alarm(alarms, metric):
    found = _alarms_on(alarms, "AWS/States", metric, {"StateMachineArn": {"Ref": "ComplaintStateMachine"}})
    assert found, metric
    assert all(_fires_on_one(alarms[name]) for name in found)


def test_api_alarms_watch_the_complaints_api_stage(template, alarms):
    api = template["Resources"]["ComplaintsApi"]["Properties"]
    # The ApiName dimension is the RestApi's name: set on ComplaintsApi, so the alarms can name it.
    dimensions = {"ApiName": api["Name"], "Stage": api["StageName"]}
    errors = _alarms_on(alarms, "AWS/ApiGateway", "5XXError", dimensions)
    latency = _alarms_on(alarms, "AWS/ApiGateway", "Latency", dimensions)
    assert errors and latency
    assert all(alarms[name]["Statistic"] == "Sum" for name in errors)
    assert all(alarms[name].get("ExtendedStatistic") == "p90" for name in latency)


# ------------------------------------------------------------------ what the handlers emit


def _emissions(stdout: str) -> set[Emission]:
    """Every (namespace, metric, dimensions) in the EMF records a handler printed."""
    found: set[Emission] = set()
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for keys in directive["Dimensions"]:
                dimensions = frozenset((key, record[key]) for key in keys)
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


# The wiring each function's handler builds its services with, at cold start.
FACTORIES = {
    "investigation_service": ("signing_key", "investigation_service", "approval_service"),
}


def run_handler(spec: FunctionSpec, factory: str, stub: Any, event: dict[str, Any]) -> set[Emission]:
    """Cold-start the function's real handler with `complaints.wiring.<factory>` (and the other factories
    that handler calls) answering `stub`, invoke it once and return the metrics it printed."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in FACTORIES.get(factory, (factory,)):
            patch.setattr(wiring, name, lambda *args, **kwargs: stub)
        patch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
        patch.delenv("POWERTOOLS_DEV", raising=False)
        arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{spec.logical_id}"
        runtime = FunctionRuntime(spec, arn, {"POWERTOOLS_TRACE_DISABLED": "true"})
        with contextlib.redirect_stdout(out):
            runtime.invoke(event)
    return _emissions(out.getvalue())


class StubCasework:
    def record_failure(self, complaint_id, state, error, cause, execution) -> FailureRecord:
        return FailureRecord(reason=f"{state}: {error}", alerted=True)


class StubSpikes:
    def watch_spikes(self, complaint_id) -> SpikeOutcome:
        return SpikeOutcome(complaintId=complaint_id, category="payments", count=30, alerted=True)


class StubInvestigation:
    """The domain's answers: the lead took over after the SLA ran out (or not); no approver left (or one)."""

    def __init__(self, sla_missed: bool = True, next_level: str = "none"):
        self.sla_missed = sla_missed
        self.next_level = next_level

    def ask(self, complaint_id, level, token, timeout_seconds) -> Asked:
        return Asked(complaintId=complaint_id, level=level, reminder=False, slaMissed=self.sla_missed)

    def next_approver(self, complaint_id, level) -> ApprovalPlan:
        return ApprovalPlan(level=self.next_level, timeoutSeconds=60)


class StubIntake:
    def submit(self, complaint, idempotency_key, accept_language, base_url) -> Submission:
        accepted = Accepted(
            complaintId="CMP-1",
            accessCode="code",
            status=Status.RECEIVED,
            statusUrl="https://x/complaints/CMP-1",
        )
        return Submission(accepted=accepted, created=True, locale="en", channel="app", workflow_started=True)


def _api_event(method: str, path: str, document: dict[str, Any]) -> dict[str, Any]:
    builder = EnvironBuilder(method=method, path=path, json=document, headers={"Accept": "application/json"})
    return proxy_event(Request(builder.get_environ()), path, {}, "prod")


@dataclass
class Scenario:
    """One run of a function's handler down the path that emits what ops watch."""

    function: str
    factory: str  # the complaints.wiring function the handler builds its service with
    stub: Any
    event: dict[str, Any]


SCENARIOS = [
    Scenario(
        "RecordFailureFunction",
        "casework",
        StubCasework(),
        {"complaintId": "CMP-1", "state": "Triage complaint", "error": {"Error": "Boom", "Cause": "x"}},
    ),
    Scenario("SpikeWatchFunction", "triage_service", StubSpikes(), {"complaintId": "CMP-1"}),
    Scenario(
        "InvestigationFunction",
        "investigation_service",
        StubInvestigation(),
        {"step": "ask", "complaintId": "CMP-1", "level": "lead", "token": "t", "timeoutSeconds": 60},
    ),
    Scenario(
        "InvestigationFunction",
        "investigation_service",
        StubInvestigation(),
        {"step": "next_approver", "complaintId": "CMP-1", "level": "director"},
    ),
    Scenario(
        "IntakeApiFunction",
        "intake_service",
        StubIntake(),
        _api_event("POST", "/complaints", {"customer": {"email": "a@example.com"}, "description": "Lost."}),
    ),
]


@pytest.fixture(scope="module")
def emitted(functions) -> dict[str, set[Emission]]:
    """What each function's handler emits on the paths ops watch, by the function's logical id."""
    by_function: dict[str, set[Emission]] = {}
    for scenario in SCENARIOS:
        found = run_handler(functions[scenario.function], scenario.factory, scenario.stub, scenario.event)
        assert found, f"{scenario.function} emitted no metric"
        by_function.setdefault(scenario.function, set()).update(found)
    return by_function


def _function_of_service(functions: dict[str, FunctionSpec], service: str) -> str:
    owners = [
        name for name, spec in functions.items() if spec.environment.get("POWERTOOLS_SERVICE_NAME") == service
    ]
    assert len(owners) == 1, f"service {service!r} belongs to {owners or 'no function'}"
    return owners[0]


def test_ops_are_alarmed_on_cases_needing_attention_sla_breaches_and_spikes(alarms):
    alarmed = {metric for alarm in alarms.values() for ns, metric, _ in _watched(alarm) if ns == NAMESPACE}
    assert {"CaseNeedsAttention", "SlaBreached", "ComplaintSpike"} <= alarmed


def test_each_custom_metric_alarm_watches_a_metric_its_handler_emits(alarms, functions, emitted):
    checked = 0
    for name, alarm in alarms.items():
        for namespace, metric, dimensions in _watched(alarm):
            if namespace != NAMESPACE:
                continue
            assert all(isinstance(value, str) for value in dimensions.values()), name
            function = _function_of_service(functions, dimensions.get("service", ""))
            assert function in emitted, f"{name}: no scenario runs {function}; add one to SCENARIOS"
            wanted = (namespace, metric, frozenset(dimensions.items()))
            same_name = [dict(d) for _, m, d in emitted[function] if m == metric]
            assert wanted in emitted[function], (
                f"{name} watches {metric} with {dimensions}, which {function} never emits "
                f"(it emits {metric} with {same_name})"
            )
            checked += 1
    assert checked >= 3


def test_the_breakdowns_by_state_and_category_are_still_emitted(emitted):
    def keys(function: str, metric: str) -> list[set[str]]:
        return [{k for k, _ in dims} for _, m, dims in emitted[function] if m == metric]

    assert {"service", "state"} in keys("RecordFailureFunction", "CaseNeedsAttention")
    assert {"service", "category"} in keys("SpikeWatchFunction", "ComplaintSpike")


@pytest.mark.parametrize(
    ("event", "stub"),
    [
        (  # the lead takes a case the customer reopened: no due time passed
            {"step": "ask", "complaintId": "CMP-1", "level": "lead", "token": "t", "timeoutSeconds": 60},
            StubInvestigation(sla_missed=False),
        ),
        (  # an approver timed out but the next level up still has time
            {"step": "next_approver", "complaintId": "CMP-1", "level": "supervisor"},
            StubInvestigation(next_level="manager"),
        ),
    ],
)
def test_no_sla_breach_is_counted_while_time_is_left(functions, event, stub):
    found = run_handler(functions["InvestigationFunction"], "investigation_service", stub, event)

    assert found, "the handler emitted nothing at all"
    assert not [metric for _, metric, _ in found if metric == "SlaBreached"]


# ------------------------------------------------------------------ the dashboard


def _substitute(text: str, template: dict[str, Any]) -> str:
    """What CloudFormation's Fn::Sub makes of `text`, with stand-ins for names it only knows at deploy."""
    resources, parameters = template["Resources"], template.get("Parameters", {})

    def value(match: re.Match) -> str:
        token = match.group(1)
        if token.startswith("!"):
            return "${" + token[1:] + "}"
        if token in PSEUDO:
            return PSEUDO[token]
        if token in parameters:
            return f"param:{token}"
        name, _, attribute = token.partition(".")
        assert name in resources, f"${{{token}}} names nothing in the template"
        return f"getatt:{token}" if attribute else f"ref:{name}"

    return re.sub(r"\$\{([^}]+)\}", value, text)


def _stand_in(value: Any, template: dict[str, Any]) -> Any:
    """A Ref in the template as _substitute writes it."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return _substitute("${" + value["Ref"] + "}", template)
    return value


def _dashboard_text(template: dict[str, Any], receives_email: bool) -> str:
    """The dashboard's body as Fn::Sub makes it: one string, with the rows of the resources that exist
    only when the stack receives email (variables that are `!If [ReceivesEmail, !Sub ..., ""]`)."""
    (props,) = _properties(template, "AWS::CloudWatch::Dashboard").values()
    # The stack's name and region: dashboards are per account, and one stack name may be in two regions.
    assert props["DashboardName"] == {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}
    text, variables = props["DashboardBody"]["Fn::Sub"]
    for name, value in variables.items():
        condition, present, absent = value["Fn::If"]
        assert condition == "ReceivesEmail" and absent == "", name
        text = text.replace("${" + name + "}", present["Fn::Sub"] if receives_email else "")
    return _substitute(text, template)


@pytest.fixture(scope="module")
def dashboard(template) -> dict[str, Any]:
    document = json.loads(_dashboard_text(template, receives_email=True))
    assert document["widgets"]
    return document


def test_the_dashboard_is_the_same_json_less_the_email_rows_without_email_receiving(template, dashboard):
    without = json.loads(_dashboard_text(template, receives_email=False))

    def entries(document: dict[str, Any]) -> list[str]:
        found = []
        for widget in document["widgets"]:
            props = widget["properties"]
            found += [json.dumps(entry) for entry in props.get("alarms", []) + props.get("metrics", [])]
        return found

    extra = sorted(set(entries(dashboard)) - set(entries(without)))
    assert len(entries(dashboard)) - len(entries(without)) == len(extra) == 6
    assert [e for e in extra if "Alarm" in e] == [
        '"getatt:EmailIntakeFunctionErrorsAlarm.Arn"',
        '"getatt:EmailIntakeFunctionThrottlesAlarm.Arn"',
        '"getatt:InboundMailDeadLettersAlarm.Arn"',
    ]
    assert all("ref:EmailIntakeFunction" in e for e in extra if "Alarm" not in e)


@dataclass
class Shown:
    widget: str
    namespace: str
    metric: str
    dimensions: dict[str, str] | None  # None: a SEARCH, which shows every value of `keys`
    keys: frozenset[str]


def _shown(dashboard: dict[str, Any]) -> list[Shown]:
    shown = []
    for widget in dashboard["widgets"]:
        if widget["type"] != "metric":
            continue
        title = widget["properties"]["title"]
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):
                expression = entry[0]["expression"]
                match = re.fullmatch(r"SEARCH\('\{([^}]+)\} MetricName=\"(\w+)\"', '\w+', \d+\)", expression)
                assert match, f"{title}: {expression} is not a SEARCH this test understands"
                namespace, *keys = match.group(1).split(",")
                shown.append(Shown(title, namespace, match.group(2), None, frozenset(keys)))
                continue
            if entry and isinstance(entry[-1], dict):
                entry = entry[:-1]
            assert "." not in entry, f"{title}: write each metric out in full"
            namespace, metric, *pairs = entry
            dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
            shown.append(Shown(title, namespace, metric, dimensions, frozenset(dimensions)))
    return shown


def test_the_dashboard_shows_only_custom_metrics_a_handler_emits(dashboard, emitted):
    everything = set().union(*emitted.values())
    for item in _shown(dashboard):
        if item.namespace != NAMESPACE:
            continue
        if item.dimensions is None:
            assert any(m == item.metric and {k for k, _ in d} == item.keys for _, m, d in everything), (
                f"{item.widget}: no handler emits {item.metric} with exactly {sorted(item.keys)}"
            )
        else:
            wanted = (NAMESPACE, item.metric, frozenset(item.dimensions.items()))
            assert wanted in everything, f"{item.widget}: no handler emits {item.metric} {item.dimensions}"


def test_the_dashboard_shows_aws_metrics_of_this_stacks_resources_only(dashboard, template):
    api = template["Resources"]["ComplaintsApi"]["Properties"]
    expected = {
        "AWS/States": [{"StateMachineArn": "ref:ComplaintStateMachine"}],
        "AWS/ApiGateway": [
            {"ApiName": _stand_in(api["Name"], template), "Stage": _stand_in(api["StageName"], template)}
        ],
        "AWS/Lambda": [
            {"FunctionName": f"ref:{name}"} for name in _properties(template, "AWS::Serverless::Function")
        ],
    }
    for item in _shown(dashboard):
        if item.namespace == NAMESPACE:
            continue
        assert item.namespace in expected, f"{item.widget}: {item.namespace}"
        assert item.dimensions in expected[item.namespace], f"{item.widget}: {item.metric} {item.dimensions}"


def test_the_dashboard_shows_what_ops_watch(dashboard, template):
    shown = _shown(dashboard)
    metrics = {(item.namespace, item.metric) for item in shown}
    assert {
        ("AWS/States", "ExecutionsStarted"),
        ("AWS/States", "ExecutionsSucceeded"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        (NAMESPACE, "CaseNeedsAttention"),
        (NAMESPACE, "SlaBreached"),
        (NAMESPACE, "ComplaintSpike"),
        (NAMESPACE, "ComplaintReceived"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
    } <= metrics
    received = [item for item in shown if item.metric == "ComplaintReceived"]
    assert any("channel" in item.keys for item in received), "complaints received per channel"
    for metric in ("Errors", "Throttles", "Duration"):
        on = {item.dimensions["FunctionName"] for item in shown if item.metric == metric}
        every = {f"ref:{name}" for name in _properties(template, "AWS::Serverless::Function")}
        assert on == every, f"Lambda {metric}: every function"


def test_the_dashboard_shows_the_state_of_every_alarm(dashboard, alarms):
    (widget,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    listed = widget["properties"]["alarms"]
    assert len(listed) == len(set(listed))
    assert set(listed) == {f"getatt:{name}.Arn" for name in alarms}


def test_the_stand_ins_resolve_like_cloudformation(template):
    text = "${AWS::StackName} ${OpsTopic} ${OpsTopicKey.Arn} ${StageName} ${!Literal}"
    assert _substitute(text, template) == (
        "complaints-prod ref:OpsTopic getatt:OpsTopicKey.Arn param:StageName ${Literal}"
    )
    with pytest.raises(AssertionError):
        _substitute("${NoSuchResource}", template)


def test_emf_output_is_read_per_dimension_set():
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "N",
                        "Dimensions": [["service"], ["service", "state"]],
                        "Metrics": [{"Name": "M"}],
                    }
                ],
            },
            "service": "s",
            "state": "x",
            "M": 1.0,
        }
    )

    assert _emissions(f"not json\n{line}\n") == {
        ("N", "M", frozenset({("service", "s")})),
        ("N", "M", frozenset({("service", "s"), ("state", "x")})),
    }
