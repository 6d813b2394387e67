"""What the contract suite is made of: a Contract (a port Protocol, its fake, its DynamoDB adapter and the
cases both must pass), the Subject a case runs against (fake or adapter on moto), a recorder of the port
methods a case calls, and builders for the values the ports take.

A case is a plain function of a Subject: it writes and reads through `s.repo` (the port, recorded) and
asserts what it can observe. Setup beyond the port (a roster counter, a platform record) goes through
`s.raw`, the implementation itself, or the Subject's helpers, which do the same on both sides."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from complaints.classification.taxonomy import Classification
from complaints.core.evidence import EvidenceItem, chain
from complaints.core.ids import hash_access_code
from complaints.core.models import Case, CaseEvent, CustomerIn, PriorityPoints, Status
from complaints.core.rules import Person
from complaints.core.stats import Tally
from complaints.core.tasks import Findings, TaskLink
from complaints.intake.ports import Claim
from complaints.triage.ports import Assignment, TriageFields
from complaints.triage.rules import PriorityResult

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
CASE_TABLE = "CasesTable"
LEDGER_TABLE = "LedgerTable"


# ------------------------------------------------------------------ the tables, as template.yaml defines them


class _AnyTag(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, ...) read as plain values: only the tables'
    properties, which use none, are taken from it."""


_AnyTag.add_multi_constructor("!", lambda loader, suffix, node: None)


@functools.cache
def table_definitions() -> dict[str, dict[str, Any]]:
    """create_table arguments of every AWS::DynamoDB::Table of template.yaml, by logical id."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    resources = yaml.load(text, Loader=_AnyTag)["Resources"]  # noqa: S506 (_AnyTag is a SafeLoader)
    tables = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        kwargs: dict[str, Any] = {
            "TableName": logical_id,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        tables[logical_id] = kwargs
    return tables


def scan(table: Any) -> list[dict[str, Any]]:
    """Every item of a table, in key order (tests may scan; request paths never do)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["pk"], item["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ------------------------------------------------------------------ contracts and subjects


def port_methods(port: type) -> set[str]:
    """The public methods a Protocol declares, its Protocol bases' included."""
    names: set[str] = set()
    for klass in port.__mro__:
        if not getattr(klass, "_is_protocol", False) or klass.__module__ == "typing":
            continue
        names.update(
            name for name, value in vars(klass).items() if callable(value) and not name.startswith("_")
        )
    return names


Case_ = Callable[["Subject"], None]


@dataclass
class Contract:
    """One port: its Protocol, how to make its fake and its adapter, and the cases both must pass."""

    port: type
    fake: Callable[[], Any]
    adapter: Callable[[dict[str, Any]], Any]  # the moto tables by logical id -> the adapter
    cases: list[Case_] = field(default_factory=list)

    def case(self, function: Case_) -> Case_:
        self.cases.append(function)
        return function

    def ids(self) -> list[str]:
        return [function.__name__ for function in self.cases]


class Recorder:
    """The implementation, with every call of one of the port's methods noted in `calls`."""

    def __init__(self, target: Any, port: type, calls: set[str]):
        self._target, self._methods, self._calls = target, port_methods(port), calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name not in self._methods:
            raise AttributeError(f"{name} is not a method of the port")

        @functools.wraps(value)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self._calls.add(name)
            return value(*args, **kwargs)

        return recorded


_FAKE_BOOKKEEPING = {"calls", "mark_triaged_calls", "fail_close", "_concurrent_writes", "_injected_conflicts"}


@dataclass
class Subject:
    """What a case runs against: `repo` the port (recorded), `raw` the implementation itself."""

    kind: str  # "fake" or "dynamo"
    raw: Any
    repo: Any
    tables: dict[str, Any] | None = None

    def put_record(self, reference: str, data: dict[str, Any]) -> None:
        """A platform record (ledger entry, order, ...) as the demo keeps it."""
        if self.tables is None:
            self.raw.records[reference] = dict(data)
        else:
            self.tables[CASE_TABLE].put_item(Item={"pk": f"RECORD#{reference}", "sk": "RECORD", **data})

    def snapshot(self) -> Any:
        """Everything stored: every item of the tables, or the fake's whole state."""
        if self.tables is not None:
            return {name: scan(table) for name, table in self.tables.items()}
        return copy.deepcopy({k: v for k, v in vars(self.raw).items() if k not in _FAKE_BOOKKEEPING})


def make_subject(contract: Contract, kind: str, tables: dict[str, Any] | None, calls: set[str]) -> Subject:
    raw = contract.fake() if kind == "fake" else contract.adapter(tables or {})
    return Subject(kind, raw, Recorder(raw, contract.port, calls), tables if kind == "dynamo" else None)


# ------------------------------------------------------------------ values the ports take


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(kind: str = "NOTE", minutes: float = 0, **params: str) -> CaseEvent:
    return CaseEvent(at=at(minutes), type=kind, params=params)


def new_case(complaint_id: str = "CMP-20260305-AAAAAA", **fields: Any) -> Case:
    created = fields.pop("created_at", T0)
    values: dict[str, Any] = {
        "complaint_id": complaint_id,
        "status": Status.RECEIVED,
        "created_at": created,
        "updated_at": created,
        "channel": "api",
        "locale": "en",
        "customer": CustomerIn(email=fields.pop("email", "ann@example.com")),
        "description": "The payment was taken twice.",
        "access_code_hash": hash_access_code("X"),
        "pending_access_code": "X",
        "response_due_at": created + timedelta(weeks=8),
    }
    return Case(**{**values, **fields})


def claim_for(case: Case, key: str | None = None, expires: datetime | None = None) -> Claim:
    return Claim(
        key=key or f"claim-{case.complaint_id}",
        complaint_id=case.complaint_id,
        access_code="X",
        request_fingerprint="fp",
        expires_at=expires or case.created_at + timedelta(minutes=10),
    )


def tally(**counters: int) -> Tally:
    return Tally(day="2026-03-05", shard=0, counters=counters or {"received": 1})


def store(s: Subject, complaint_id: str = "CMP-20260305-AAAAAA", **fields: Any) -> Case:
    """A case stored through `create` (on the implementation), read back as stored."""
    case = new_case(complaint_id, **fields)
    assert s.raw.create(case, CaseEvent(at=case.created_at, type="RECEIVED"), claim_for(case), T0) is None
    return s.raw.get(complaint_id)[0]


INVESTIGATOR = Person(id="inv-1", name="Ida Vance", email="ida@example.com")


def triage_fields(department: str = "payments", investigator: Person = INVESTIGATOR) -> TriageFields:
    return TriageFields(
        classification=Classification(
            category="payments", confidence=0.875, evidence=["twice"], source="rules"
        ),
        priority=PriorityResult(
            priority="P2", score=40, breakdown=[PriorityPoints(reason="money", detail="GBP", points=40)]
        ),
        department=department,
        investigator=investigator,
        first_response_due=at(60 * 24),
        resolution_due=at(60 * 24 * 14),
        response_due=at(60 * 24 * 56),
    )


def assignment(expected_open: int | None = None, department: str = "payments") -> Assignment:
    return Assignment(department=department, investigator=INVESTIGATOR, expected_open=expected_open)


def link(link_id: str, complaint_id: str = "CMP-20260305-AAAAAA", kind: str = "investigate", **fields: Any):
    values: dict[str, Any] = {
        "link_id": link_id,
        "complaint_id": complaint_id,
        "kind": kind,
        "level": "investigator",
        "recipient_id": "inv-1",
        "recipient_name": "Ida Vance",
        "recipient_email": "ida@example.com",
        "token": f"token-{link_id}",
        "created_at": T0,
        "expires_at": at(60 * 24 * 7),
    }
    return TaskLink(**{**values, **fields})


def findings(**fields: Any) -> Findings:
    values = {
        "summary": "Charged twice by the processor.",
        "remedy": "refund",
        "amount": "12.50",
        "currency": "GBP",
        "customerMessage": "We refund the second charge.",
        "rootCause": "payment_processing",
    }
    return Findings.model_validate({**values, **fields})


def evidence_items(count: int = 2) -> list[EvidenceItem]:
    found = [("ledger", f"TX-{n}", {"amount": "12.50", "n": n}) for n in range(count)]
    return chain(found, T0)
