"""The moto internals the embedded stack relies on (infra/moto_hooks.py). If a moto upgrade breaks one,
this fails here, loudly, rather than `make run` failing quietly."""

from __future__ import annotations

import json
import threading
from email.message import EmailMessage

import boto3
import pytest
from moto import mock_aws, settings
from moto.core.config import default_user_config
from moto.dynamodb.models import DynamoDBBackend

from infra import moto_hooks
from infra.lambdas import HandlerError

REGION = "us-east-1"


@pytest.fixture
def moto(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_hooks.install()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def _function(name: str) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="x.handler", Code={"ZipFile": b"zip"}
    )


def test_lambda_invoke_runs_the_registered_handler(moto):
    _function("Echo")
    moto_hooks.register_function("Echo", lambda name, event: {"name": name, "got": event})

    answer = boto3.client("lambda", region_name=REGION).invoke(FunctionName="Echo", Payload=b'{"a": 1}')

    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"name": "Echo", "got": {"a": 1}}


def test_lambda_invoke_reports_a_handler_error_as_lambda_does(moto):
    _function("Broken")

    def broken(name, event):
        raise HandlerError("CaseNotFound", "CMP-1", [])

    moto_hooks.register_function("Broken", broken)
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:Broken"

    answer = boto3.client("lambda", region_name=REGION).invoke(FunctionName=arn, Payload=b"{}")

    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "CaseNotFound"


def test_dynamodb_writes_are_serialised(moto):
    for name in moto_hooks._WRITES:
        assert hasattr(getattr(DynamoDBBackend, name), "__wrapped__"), name
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client = boto3.client("dynamodb", region_name=REGION)
    wins: list[int] = []

    def claim(i: int) -> None:
        try:
            client.put_item(
                TableName="t", Item={"pk": {"S": "only-one"}}, ConditionExpression="attribute_not_exists(pk)"
            )
            wins.append(i)
        except client.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def test_sent_raw_email_is_readable_for_the_mailbox(moto):
    ses = boto3.client("sesv2", region_name=REGION)
    ses.create_email_identity(EmailIdentity="from@example.com")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "from@example.com", "to@example.com", "Hello"
    message.set_content("plain")
    message.add_alternative('<a href="https://x.example/y">y</a>', subtype="html")

    ses.send_email(FromEmailAddress="from@example.com", Content={"Raw": {"Data": message.as_bytes()}})

    from infra import mailbox

    (sent,) = mailbox.messages("123456789012", REGION)
    assert sent["to"] == ["to@example.com"]
    assert sent["subject"] == "Hello"
    assert sent["links"] == ["https://x.example/y"]


def test_the_settings_the_stack_turns_on_still_exist(monkeypatch):
    assert "use_docker" in default_user_config["lambda"]
    assert "execute_state_machine" in default_user_config["stepfunctions"]
    monkeypatch.setenv("MOTO_PORT", "5123")
    assert settings.moto_server_port() == "5123" or settings.moto_server_port() == 5123
