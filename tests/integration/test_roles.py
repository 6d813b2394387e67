"""Each function runs with the permissions of its own execution role, as on AWS: the role the transformed
template defines, assumed through STS, its policies enforced on every call. Anyone else's credentials (a
person's AWS CLI, these tests) keep working against the endpoint."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import moto_hooks, template
from infra.lambdas import (
    CONTAINERS_PER_FUNCTION,
    TIMED_OUT,
    Credentials,
    FunctionRuntime,
    HandlerError,
    function_session,
)
from tests.integration.conftest import REGION, Aws


@pytest.fixture
def unrecorded(aws: Aws):
    """A test that provokes refusals on purpose: tests/permissions.py counts only the suite's real calls."""
    with moto_hooks.unrecorded():
        yield


def test_each_function_calls_aws_as_its_own_role(aws: Aws):
    for name, runtime in aws.runtimes.items():
        identity = runtime.session.client("sts").get_caller_identity()
        role = aws.tpl.functions[name].role
        assert identity["Arn"] == f"arn:aws:sts::{template.ACCOUNT}:assumed-role/{role}/{name}"
        assert runtime.env["AWS_SESSION_TOKEN"]  # in the function's environment, as Lambda sets it


def test_a_call_outside_the_role_is_refused_with_access_denied(aws: Aws, unrecorded):
    intake = aws.runtimes["IntakeApiFunction"].session
    ledger = {"pk": {"S": "REFUND#x"}, "sk": {"S": "REFUND"}}

    with pytest.raises(ClientError) as refused:
        intake.client("dynamodb").put_item(TableName="LedgerTable", Item=ledger)
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "assumed-role/IntakeApiFunctionRole/IntakeApiFunction" in error["Message"]
    assert (
        f"dynamodb:PutItem on resource: arn:aws:dynamodb:{REGION}:{template.ACCOUNT}:table/LedgerTable"
        in (error["Message"])
    )
    with pytest.raises(ClientError, match="AccessDenied"):
        intake.client("secretsmanager").get_secret_value(SecretId="LinkSigningSecret")
    with pytest.raises(ClientError, match="AccessDenied"):
        intake.client("sesv2").send_email(
            FromEmailAddress="complaints@example.com",
            Destination={"ToAddresses": ["someone@example.com"]},
            Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
        )

    # The remedy function's role does allow the ledger; the tests' own credentials allow anything.
    aws.runtimes["RemedyFunction"].session.client("dynamodb").put_item(TableName="LedgerTable", Item=ledger)
    aws.client("dynamodb").put_item(TableName="LedgerTable", Item=ledger)


def test_the_handler_meets_access_denied_when_its_role_loses_a_grant(aws: Aws, unrecorded):
    """Take StartExecution away from intake's role: the complaint is still stored (the reconciler's
    case), and the execution is not started, as on AWS."""
    iam = aws.client("iam")
    role = "IntakeApiFunctionRole"
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if "states:StartExecution" in json.dumps(document):
            iam.delete_role_policy(RoleName=role, PolicyName=name)

    answer = aws.http.post(
        "/complaints",
        json={"customer": {"email": "li.wei@example.com"}, "description": "My withdrawal has not arrived."},
    )

    assert answer.status_code == 202
    assert aws.case(answer.get_json()["complaintId"])["status"] == "RECEIVED"
    assert aws.executions() == []


def test_a_burst_waits_for_a_few_containers_instead_of_a_cold_start_each(tmp_path):
    """40 complaints at once made 98 cold starts, each importing and building the handler. At most
    CONTAINERS_PER_FUNCTION run at once; the rest wait for one to be free, and every invocation is
    answered."""
    module = tmp_path / "pause.py"
    module.write_text("import time\n\ndef handler(event, context):\n    time.sleep(0.2)\n    return event\n")
    spec = template.FunctionSpec("PauseFunction", tmp_path, "pause.handler", {}, timeout=5)
    runtime = FunctionRuntime(spec, "arn:aws:lambda:us-east-1:123456789012:function:PauseFunction", {})
    answers: list = []
    callers = [threading.Thread(target=lambda n=n: answers.append(runtime.invoke(n))) for n in range(12)]
    started = time.monotonic()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()

    assert sorted(answers) == list(range(12))
    assert runtime.cold_starts == CONTAINERS_PER_FUNCTION == 4
    assert time.monotonic() - started >= 3 * 0.2  # 12 invocations, 4 at a time


def test_each_function_sees_its_own_environment_and_other_code_never_sees_it(tmp_path):
    """On Lambda a function's variables (its role's credentials among them) are in its own process only.
    Here the functions share one: their cold starts and invocations see their own variables, and code
    outside them (the state machine's threads making boto3 clients, other functions) sees the process's,
    unchanged however many cold starts run meanwhile. When cold starts put their variables into the
    process's environment and took them out again, a reader iterating it met `KeyError:
    'AWS_LAMBDA_FUNCTION_NAME'` and a state machine execution failed with States.Runtime."""
    module = tmp_path / "echo.py"
    module.write_text(
        "import os\n\nAT_COLD_START = os.environ['GREETING']\n\n"
        "def handler(event, context):\n"
        "    os.environ['SEEN'] = 'yes'  # a function may write its own environment\n"
        "    return [AT_COLD_START, os.environ['GREETING'], os.environ['AWS_LAMBDA_FUNCTION_NAME']]\n"
    )
    runtimes = [
        FunctionRuntime(
            template.FunctionSpec(name, tmp_path, "echo.handler", {"GREETING": greeting}, timeout=5),
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            {},
        )
        for name, greeting in (("HelloFunction", "hello"), ("NihaoFunction", "ni hao"))
    ]
    before = dict(os.environ)
    stop = threading.Event()
    seen_outside: list[dict[str, str]] = []

    def read_outside() -> None:  # as botocore reads proxies from the environment when it makes a client
        while not stop.is_set():
            seen_outside.append(dict(os.environ.items()))

    reader = threading.Thread(target=read_outside)
    reader.start()
    answers: list = []
    try:
        for _ in range(30):
            for runtime in runtimes:
                runtime._idle.clear()  # a cold start each time
                answers.append(runtime.invoke({}))
    finally:
        stop.set()
        reader.join()

    assert answers == [["hello", "hello", "HelloFunction"], ["ni hao", "ni hao", "NihaoFunction"]] * 30
    assert seen_outside and all(seen == before for seen in seen_outside)
    assert "GREETING" not in os.environ and "SEEN" not in os.environ


def test_a_cold_start_that_raises_is_the_functions_error_as_lambda_reports_a_failed_init(tmp_path):
    """Not an exception in the caller: a state machine's Catch then routes the case to NEEDS_ATTENTION."""
    (tmp_path / "broken.py").write_text(
        "import os\n\nTABLE = os.environ['NOT_SET']\n\ndef handler(e, c):\n    return 1\n"
    )
    spec = template.FunctionSpec("BrokenFunction", tmp_path, "broken.handler", {}, timeout=5)
    runtime = FunctionRuntime(spec, "arn:aws:lambda:us-east-1:123456789012:function:BrokenFunction", {})

    with pytest.raises(HandlerError) as failed:
        runtime.invoke({})

    assert failed.value.payload["errorType"] == "KeyError"
    assert "NOT_SET" in failed.value.payload["errorMessage"]


def test_an_invocation_past_the_timeout_fails_as_lambda_does(aws: Aws, tmp_path):
    module = tmp_path / "slow.py"
    module.write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return 'done'\n"
    )
    spec = template.FunctionSpec("SlowFunction", tmp_path, "slow.handler", {}, timeout=1)
    runtime = FunctionRuntime(spec, "arn:aws:lambda:us-east-1:123456789012:function:SlowFunction", {})

    assert runtime.invoke({"sleep": 0}) == "done"
    started = time.monotonic()
    with pytest.raises(HandlerError) as failed:
        runtime.invoke({"sleep": 3})
    assert 1 <= time.monotonic() - started < 3  # the timeout, not the 3 s the handler wanted
    assert failed.value.payload["errorType"] == TIMED_OUT == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in failed.value.payload["errorMessage"]
    # The timed-out container is not reused: the next invocation is a cold start.
    assert runtime.invoke({"sleep": 0}) == "done"
    assert runtime.cold_starts == 2


def test_boto3_default_session_is_the_running_functions(aws: Aws, unrecorded):
    """infra/lambdas.py swaps boto3's `_get_default_session`: this fails if boto3 stops calling it."""
    runtime = aws.runtimes["TriageFunction"]
    with function_session(runtime.session):
        inside = boto3.client("sts").get_caller_identity()["Arn"]
        ledger = boto3.resource("dynamodb").Table("LedgerTable")
        with pytest.raises(ClientError, match="AccessDenied"):
            ledger.put_item(Item={"pk": "x", "sk": "y"})
    outside = boto3.client("sts").get_caller_identity()["Arn"]

    assert inside.endswith(":assumed-role/TriageFunctionRole/TriageFunction")
    assert "assumed-role" not in outside


def test_the_ledger_pays_a_remedy_once_with_the_remedy_functions_role(aws: Aws):
    """The adapter the remedy function pays through, on the ledger table with that function's credentials:
    a repeat (a retried step) gets the first payment's reference back and pays nothing more."""
    from complaints.adapters.ledger import LedgerTableAdapter

    session = aws.runtimes["RemedyFunction"].session
    ledger = LedgerTableAdapter(session.resource("dynamodb").Table("LedgerTable"))
    first = ledger.pay("CMP-1", "r1", "refund", Decimal("150.00"), "CNY")
    again = ledger.pay("CMP-1", "r1", "refund", Decimal("150.00"), "CNY")

    assert first == again == "PAY-r1"
    items = aws.client("dynamodb").scan(TableName="LedgerTable")["Items"]
    assert len(items) == 1


def test_a_sender_verified_by_its_domain_may_send(monkeypatch: pytest.MonkeyPatch):
    """SenderIdentity names the domain: SES has no identity for the address itself, and the functions'
    roles allow sending as the domain's identity, as on AWS with a domain-verified sender."""
    from moto import mock_aws

    from infra.stack import provision

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_hooks.install()
    with mock_aws(config={"lambda": {"use_docker": False}}), moto_hooks.unrecorded():
        tpl = template.load(region=REGION, parameters={"SenderIdentity": "example.com"})
        runtimes = provision(tpl, lambda service: boto3.client(service, region_name=REGION), {})
        identities = boto3.client("sesv2", region_name=REGION).list_email_identities()["EmailIdentities"]
        assert {i["IdentityName"] for i in identities} == {"example.com", "ops@example.com"}
        mail = runtimes["AcknowledgeFunction"].session.client("sesv2")
        raw = b"From: complaints@example.com\r\nTo: a@example.org\r\nSubject: x\r\n\r\nx"

        def send(sender: str) -> None:
            mail.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": ["a@example.org"]},
                Content={"Raw": {"Data": raw}},
            )

        send("complaints@example.com")
        checks = [
            check for function, check, _ in moto_hooks.recorded_checks() if function == "AcknowledgeFunction"
        ]
        assert checks[-1].action == "ses:SendRawEmail"
        assert checks[-1].resource.endswith(":identity/example.com")
        with pytest.raises(ClientError, match="AccessDenied"):
            send("someone@elsewhere.example")


def test_nothing_a_timed_out_invocation_does_afterwards_reaches_aws(aws: Aws, tmp_path):
    """Lambda stops a function at its timeout; here its thread runs on, but its AWS calls fail unsent."""
    module = tmp_path / "late.py"
    module.write_text(
        "import time\nimport boto3\n\n"
        "def handler(event, context):\n"
        "    time.sleep(event['sleep'])\n"
        "    raw = b'From: complaints@example.com\\r\\nTo: late@example.com\\r\\nSubject: x\\r\\n\\r\\nx'\n"
        "    boto3.client('sesv2').send_email(FromEmailAddress='complaints@example.com',\n"
        "        Destination={'ToAddresses': ['late@example.com']}, Content={'Raw': {'Data': raw}})\n"
        "    return 'sent'\n"
    )
    role = aws.tpl.roles["AcknowledgeFunctionRole"]
    assumed = aws.client("sts").assume_role(RoleArn=role.arn, RoleSessionName="LateFunction")["Credentials"]
    credentials = Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
    spec = template.FunctionSpec("LateFunction", tmp_path, "late.handler", {}, timeout=3)  # busy CI room
    runtime = FunctionRuntime(
        spec, "arn:aws:lambda:us-east-1:123456789012:function:LateFunction", {}, credentials
    )
    sent_before = len(aws.sent_emails())

    assert runtime.invoke({"sleep": 0}) == "sent"  # in time, the mail goes out
    with pytest.raises(HandlerError, match=r"Sandbox\.Timedout"):
        runtime.invoke({"sleep": 3.5})
    time.sleep(2.5)  # the timed-out thread has woken and tried to send by now

    assert len(aws.sent_emails()) == sent_before + 1


def test_concurrent_invocations_of_a_powertools_api_each_see_their_own_request(tmp_path):
    """Powertools' REST resolver keeps the request it handles on its base class (`BaseRouter.current_event`),
    one per process, as Lambda runs one invocation at a time in a process. Here invocations of all functions
    share one process: two requests in two containers at once read each other's (the intake API handled one
    complaint twice and answered two submissions with one ticket). Each invocation sees its own request."""
    (tmp_path / "echo_api.py").write_text(
        "import time\n"
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n\n"
        "app = APIGatewayRestResolver()\n\n"
        "@app.post('/echo')\n"
        "def echo():\n"
        "    first = app.current_event.body\n"
        "    time.sleep(0.3)  # another request comes in meanwhile\n"
        "    return {'first': first, 'then': app.current_event.body}\n\n"
        "def handler(event, context):\n"
        "    return app.resolve(event, context)\n"
    )
    spec = template.FunctionSpec("EchoApiFunction", tmp_path, "echo_api.handler", {}, timeout=5)
    runtime = FunctionRuntime(spec, "arn:aws:lambda:us-east-1:123456789012:function:EchoApiFunction", {})

    def request(body: str) -> dict:
        event = {"httpMethod": "POST", "path": "/echo", "resource": "/echo", "headers": {}, "body": body}
        return json.loads(runtime.invoke(event)["body"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(request, ["one", "two"]))

    assert answers == [{"first": "one", "then": "one"}, {"first": "two", "then": "two"}]
    assert runtime.cold_starts == 2  # two containers, at once


def test_each_container_keeps_its_own_powertools_metrics(tmp_path):
    """Powertools' Metrics keep what an invocation adds (metrics, dimensions, metadata) in dicts shared by
    every instance in the process, as Lambda runs one function's container per process. Here two
    functions' invocations at once wrote into each other's EMF line (the conversation function's
    FileReceived went out with the investigation's `step` dimension). Each container has its own."""
    (tmp_path / "measured.py").write_text(
        "import os, time\n"
        "from aws_lambda_powertools import Metrics\n\n"
        "metrics = Metrics(namespace='Test')\n\n"
        "def handler(event, context):\n"
        "    metrics.add_dimension(name='function', value=os.environ['AWS_LAMBDA_FUNCTION_NAME'])\n"
        "    time.sleep(0.3)  # the other function adds its own meanwhile\n"
        "    seen = dict(metrics.provider.dimension_set)\n"
        "    metrics.clear_metrics()\n"
        "    return seen\n"
    )
    runtimes = [
        FunctionRuntime(
            template.FunctionSpec(name, tmp_path, "measured.handler", {}, timeout=5),
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            {},
        )
        for name in ("FirstFunction", "SecondFunction")
    ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = list(pool.map(lambda runtime: runtime.invoke({}), runtimes))

    assert seen == [{"function": "FirstFunction"}, {"function": "SecondFunction"}]
