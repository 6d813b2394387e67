"""`complaints submit --channel phone|chat`: filed through the ops route, signed with the user's AWS
credentials (checked by the SigV4 stand-in for API Gateway, body included); on the embedded stack it needs
the stack's ops token, and says so when it is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from complaints_cli import main
from complaints_cli import target as targets
from complaints_cli.target import Target
from tests.sigv4_gateway import FILED, SigV4Gateway
from tests.unit.ops.deployed import deploy_stand_in

REGION = "eu-west-1"
KEY, SECRET = "AKIDEXAMPLESUBMIT001", "submit-secret-0123456789abcdefghijklmn"


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[SigV4Gateway]:
    """A "deployed" stack whose API is the stand-in, the fake keys as the default credentials."""
    with SigV4Gateway({KEY: (SECRET, None)}, region=REGION) as gateway:
        deploy_stand_in(monkeypatch, gateway, tmp_path, KEY, SECRET)
        yield gateway


ARGS = ["--email", "wang.fang@example.com", "--description", "Withdrawal pending for five days."]


def test_a_phone_complaint_goes_to_the_ops_route_signed_and_prints_the_ticket(deployed: SigV4Gateway):
    done = CliRunner().invoke(
        main.app, ["submit", *ARGS, "--channel", "phone", "--name", "Wang Fang", "--amount", "300.00"]
    )

    assert done.exit_code == 0, done.output
    (seen,) = deployed.seen
    assert (seen.method, seen.path, seen.refused) == ("POST", "/prod/ops/complaints", None)
    assert seen.access_key == KEY
    sent = json.loads(seen.body)
    assert sent["channel"] == "phone" and sent["customer"]["name"] == "Wang Fang"
    assert sent["amount"] == {"value": "300.00", "currency": "CNY"}
    assert f"Complaint {FILED['complaintId']} received." in done.output
    assert FILED["statusUrl"] in done.output.replace("\n", "")
    assert "Filed by you for the customer (phone)" in done.output


def test_other_channels_keep_the_public_api(deployed: SigV4Gateway, monkeypatch: pytest.MonkeyPatch):
    posted = []

    class Answer:
        status_code = 202

        def json(self):
            return FILED

    monkeypatch.setattr(main.requests, "post", lambda url, **kw: posted.append((url, kw)) or Answer())
    done = CliRunner().invoke(main.app, ["submit", *ARGS, "--channel", "email"])

    assert done.exit_code == 0, done.output
    ((url, kw),) = posted
    assert url == f"{deployed.api_url}/complaints" and "Authorization" not in (kw.get("headers") or {})
    assert deployed.seen == [] and "Filed by you" not in done.output


def test_on_the_embedded_stack_a_phone_complaint_needs_the_ops_token(monkeypatch: pytest.MonkeyPatch):
    local = Target(
        "http://127.0.0.1:1/prod", "CasesTable", "arn:sm", "us-east-1", endpoint="http://127.0.0.1:2"
    )
    monkeypatch.setattr(targets, "local", lambda url: local)
    monkeypatch.delenv("OPS_TOKEN", raising=False)

    done = CliRunner().invoke(main.app, ["--local", "submit", *ARGS, "--channel", "chat"])

    assert done.exit_code == 2
    assert "set OPS_TOKEN" in " ".join(done.output.split())
