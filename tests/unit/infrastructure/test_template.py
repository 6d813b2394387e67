"""Static checks of template.yaml: it lints, and the data, functions and state machine are set up
the way the code and operations rely on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from infra.template import ROOT

TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


@pytest.fixture(scope="module")
def table(template) -> dict[str, Any]:
    """The one table of the product's data (the other is the local ledger behind the payment adapter)."""
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert set(tables) == {"CasesTable", "LedgerTable"}
    return tables["CasesTable"]["Properties"]


@pytest.fixture(scope="module")
def functions(template) -> dict[str, dict[str, Any]]:
    found = _resources(template, "AWS::Serverless::Function")
    assert found
    return found


@pytest.fixture(scope="module")
def machine(template) -> dict[str, Any]:
    machines = _resources(template, "AWS::Serverless::StateMachine")
    assert len(machines) == 1
    return next(iter(machines.values()))["Properties"]


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_table_is_on_demand_recoverable_and_encrypted(table):
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_expired_claims_are_removed_through_the_ttl_attribute(table):
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def test_the_table_keys_are_the_ones_the_repository_writes(table):
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }


def test_the_table_has_the_gsi1_the_reconciler_queries(table):
    source = (ROOT / "functions/layer/complaints/adapters/dynamo/cases.py").read_text(encoding="utf-8")
    assert 'IndexName="GSI1"' in source
    assert "gsi1pk = :pk AND gsi1sk < :before" in source

    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    gsi1 = indexes["GSI1"]
    assert {(k["AttributeName"], k["KeyType"]) for k in gsi1["KeySchema"]} == {
        ("gsi1pk", "HASH"),
        ("gsi1sk", "RANGE"),
    }
    # The reconciler reads the case's pk from the index: KEYS_ONLY projects the table keys.
    assert gsi1["Projection"]["ProjectionType"] in ("KEYS_ONLY", "ALL")
    attributes = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert attributes == {
        f"{key}": "S"
        for key in ("pk", "sk", *(f"gsi{n}{part}" for n in range(1, 5) for part in ("pk", "sk")))
    }


def test_the_triage_indexes_project_what_the_triage_reads(table):
    from complaints.core.models import CaseSummary

    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    customer = indexes["GSI2"]
    assert {(k["AttributeName"], k["KeyType"]) for k in customer["KeySchema"]} == {
        ("gsi2pk", "HASH"),
        ("gsi2sk", "RANGE"),
    }
    # Duplicate and repeat checks parse CaseSummary from the index: every field must be projected.
    assert set(CaseSummary.model_fields) <= set(customer["Projection"]["NonKeyAttributes"])
    queue = indexes["GSI3"]
    assert {(k["AttributeName"], k["KeyType"]) for k in queue["KeySchema"]} == {
        ("gsi3pk", "HASH"),
        ("gsi3sk", "RANGE"),
    }


def _python_version(runtime: str) -> tuple[int, int]:
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    assert match, runtime
    return int(match.group(1)), int(match.group(2))


def test_every_function_runs_on_python_3_12_or_newer(template, functions):
    default = template.get("Globals", {}).get("Function", {}).get("Runtime")
    for name, resource in functions.items():
        runtime = resource["Properties"].get("Runtime", default)
        assert runtime, f"{name} has no runtime"
        assert _python_version(runtime) >= (3, 12), f"{name}: {runtime}"


def test_the_layer_is_built_for_the_functions_runtime(template):
    runtime = template["Globals"]["Function"]["Runtime"]
    for name, layer in _resources(template, "AWS::Serverless::LayerVersion").items():
        assert runtime in layer["Properties"]["CompatibleRuntimes"], name
        assert layer["Metadata"]["BuildMethod"] == runtime, name


def test_the_state_machine_is_standard_logs_errors_without_data_and_is_traced(machine):
    assert machine["Type"] == "STANDARD"
    assert machine["Logging"]["Level"] == "ERROR"
    assert machine["Logging"]["IncludeExecutionData"] is False
    assert machine["Logging"]["Destinations"]
    assert machine["Tracing"] == {"Enabled": True}


def test_the_stack_outputs_what_clients_and_tests_need(template):
    assert {"ApiUrl", "CasesTableName", "StateMachineArn"} <= set(template["Outputs"])


def _policy_names(policies: Any) -> list[str]:
    if isinstance(policies, str | dict):
        policies = [policies]
    names = []
    for policy in policies:
        if isinstance(policy, str):
            names.append(policy)
        elif isinstance(policy, dict):
            names.extend(key for key in policy if key != "Statement")
    return names


def test_no_function_has_full_or_crud_access_to_dynamodb(functions):
    for name, resource in functions.items():
        for policy in _policy_names(resource["Properties"].get("Policies", [])):
            assert not policy.endswith("FullAccess"), f"{name}: {policy}"
            assert not ("DynamoDB" in policy and "Crud" in policy), f"{name}: {policy}"


def test_no_function_grants_itself_every_dynamodb_action(functions):
    for name, resource in functions.items():
        policies = resource["Properties"].get("Policies", [])
        for policy in policies if isinstance(policies, list) else [policies]:
            if not isinstance(policy, dict):
                continue
            for statement in policy.get("Statement", []):
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                assert "*" not in actions and "dynamodb:*" not in actions, name


def test_no_function_the_api_serves_names_the_api(template, functions):
    """The API's integrations depend on the functions it serves: one of them naming the API closes a cycle,
    which CloudFormation refuses (cfn-lint sees it only after the SAM transform: tests/deploy). A function
    the API does not serve (email intake) may name it, for its links."""
    environments = [template["Globals"]["Function"].get("Environment", {})]
    served = {
        name: res
        for name, res in functions.items()
        if any(e.get("Type") == "Api" for e in res["Properties"].get("Events", {}).values())
    }
    assert "IntakeApiFunction" in served and "EmailIntakeFunction" not in served
    environments += [res["Properties"].get("Environment", {}) for res in served.values()]
    for environment in environments:
        assert "ComplaintsApi" not in json.dumps(environment)


def test_links_use_the_request_url_unless_a_public_base_url_is_given(template):
    parameter = template["Parameters"]["PublicBaseUrl"]
    assert parameter["Default"] == ""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
