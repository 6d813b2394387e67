"""The least-privilege comparison of tests/permissions.py: calls recorded during the suite against grants."""

from __future__ import annotations

from tests import permissions
from tests.permissions import Grant, compare

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/CasesTable"


def call(function: str, action: str, resource: str, allowed: bool = True) -> dict:
    return {"function": function, "action": action, "resource": resource, "allowed": allowed}


def test_every_grant_used_and_every_call_allowed_is_clean():
    granted = [
        Grant("Intake", "dynamodb:GetItem", TABLE),
        Grant("Intake", "dynamodb:Query", f"{TABLE}/index/*"),
    ]
    records = [
        call("Intake", "dynamodb:GetItem", TABLE),
        call("Intake", "dynamodb:Query", f"{TABLE}/index/GSI2"),
    ]

    assert compare(granted, records) == []


def test_a_grant_no_call_used_is_reported():
    granted = [Grant("Intake", "dynamodb:GetItem", TABLE), Grant("Intake", "dynamodb:Scan", TABLE)]

    assert compare(granted, [call("Intake", "dynamodb:GetItem", TABLE)]) == [
        f"Intake is granted dynamodb:Scan on {TABLE}, never used"
    ]


def test_another_functions_call_does_not_use_a_grant():
    granted = [Grant("Intake", "dynamodb:PutItem", TABLE)]

    assert compare(granted, [call("Triage", "dynamodb:PutItem", TABLE)]) == [
        f"Intake is granted dynamodb:PutItem on {TABLE}, never used"
    ]


def test_a_refused_call_is_reported_and_uses_nothing():
    granted = [Grant("Intake", "dynamodb:PutItem", TABLE)]
    records = [call("Intake", "dynamodb:PutItem", TABLE, allowed=False)]

    assert compare(granted, records) == [
        f"Intake was refused dynamodb:PutItem on {TABLE}",
        f"Intake is granted dynamodb:PutItem on {TABLE}, never used",
    ]


def test_an_unused_grant_with_a_stated_reason_is_accepted(monkeypatch):
    monkeypatch.setitem(permissions.UNUSED, ("Intake", "dynamodb:Scan"), "for a test")

    assert compare([Grant("Intake", "dynamodb:Scan", TABLE)], []) == []


def test_the_grants_come_from_the_transformed_templates_roles():
    granted = permissions.grants()

    assert {g.function for g in granted} >= {"IntakeApiFunction", "TaskLinksFunction", "RemedyFunction"}
    assert all(not g.action.startswith("logs:") for g in granted)  # managed policies are not compared
    assert any(g.function == "IntakeApiFunction" and g.action == "states:StartExecution" for g in granted)
