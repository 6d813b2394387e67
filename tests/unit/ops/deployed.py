"""A "deployed" stack for the CLI's tests: its API is a SigV4-checking stand-in, its credentials the
given keys, and nothing else of this machine's AWS configuration is seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints_cli import target as targets
from complaints_cli.target import Target
from tests.sigv4_gateway import SigV4Gateway

_AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "OPS_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def deploy_stand_in(
    monkeypatch: pytest.MonkeyPatch, gateway: SigV4Gateway, tmp_path: Path, key: str, secret: str
) -> None:
    """`complaints --stack …` finds the stand-in API as its stack's ApiUrl, signed with `key`/`secret`."""
    found = Target(
        api_url=gateway.api_url,
        table_name="CasesTable",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:complaints-case",
        region=gateway.region,
    )
    monkeypatch.setattr(targets, "aws", lambda stack, region: found)
    for name in _AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
