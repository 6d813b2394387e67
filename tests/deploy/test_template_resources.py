"""What CloudFormation creates for the API and the logs, read from the transformed template."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.transform import resources, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed()


def test_the_api_has_one_stage(template):
    """Without Globals.Api.OpenApiVersion SAM's deployment also creates a public stage named "Stage"."""
    assert len(resources(template, "AWS::ApiGateway::Stage")) == 1
    for name, deployment in resources(template, "AWS::ApiGateway::Deployment").items():
        assert "StageName" not in deployment["Properties"], f"{name} creates a second stage"
