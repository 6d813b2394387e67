"""The ops console links to the mailbox only where there is one: the embedded stack sets
LOCAL_MAILBOX_URL for its functions; on AWS nothing sets it, and the page has no such link."""

from __future__ import annotations

import pytest

from infra.gateway import Gateway
from infra.lambdas import FunctionRuntime
from tests.integration.conftest import Aws, StageClient

TOKEN = "local-ops-token-5e2b7d"
MAILBOX = "http://127.0.0.1:3000/_local/mailbox"


def console_page(aws: Aws, **env: str) -> str:
    """GET /ops through the gateway, the ops function started with `env` added to its environment."""
    ops = aws.runtimes["OpsFunction"]
    runtime = FunctionRuntime(ops.spec, ops.arn, {**ops.env, **env})
    gateway = StageClient(Gateway({**aws.runtimes, "OpsFunction": runtime}, aws.tpl.stages, ops_token=TOKEN))
    answer = gateway.get("/ops", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert runtime.invocations == 1  # this runtime, with `env`, rendered the page
    return answer.get_data(as_text=True)


@pytest.fixture(autouse=True)
def no_mailbox_in_the_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_MAILBOX_URL", raising=False)


def test_the_template_does_not_set_the_mailbox_for_aws(aws: Aws):
    assert "LOCAL_MAILBOX_URL" not in aws.runtimes["OpsFunction"].spec.environment


def test_without_the_setting_the_console_has_no_mailbox_link(aws: Aws):
    page = console_page(aws)

    assert 'href="#executions">Executions</a></nav>' in page  # the rest of the navigation is there
    assert "mailbox-link" not in page
    assert "_local/mailbox" not in page
    assert "Mailbox" not in page


def test_with_the_setting_the_console_links_to_that_mailbox(aws: Aws):
    page = console_page(aws, LOCAL_MAILBOX_URL=MAILBOX)

    assert f'<a href="{MAILBOX}" id="mailbox-link">Mailbox (local stack)</a></nav>' in page
    assert page.count("mailbox-link") == 1
