"""Every contract case runs twice: on the port's fake and on its DynamoDB adapter (moto, tables as
template.yaml defines them). One moto backend per module, its tables emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from infra import moto_hooks
from tests.contract.support import scan, table_definitions

REGION = "us-east-1"
_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture(scope="module")
def moto_tables() -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        for name, value in _ENV.items():
            patch.setenv(name, value)
        moto_hooks.install()  # moto as the integration tests and the local stack run it
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION)
            # No retries: an injected fault (moto_hooks.inject_fault) meets the adapter the first time.
            resource = boto3.resource(
                "dynamodb", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
            )
            for definition in table_definitions().values():
                client.create_table(**definition)
            yield {name: resource.Table(name) for name in table_definitions()}


@pytest.fixture(params=["fake", "dynamo"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tables(kind: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any] | None]:
    """The moto tables, empty, for the adapter's run; None for the fake's."""
    if kind == "fake":
        yield None
        return
    found = request.getfixturevalue("moto_tables")
    for table in found.values():
        with table.batch_writer() as batch:
            for item in scan(table):
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    yield found
    moto_hooks.clear_faults()
