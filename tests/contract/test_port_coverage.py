"""Every storage port has a contract, and every public method of each port is called by at least one of
its contract cases: a new port, or a new method of a port, with no contract case fails here.

The cases are run again on the fake (in memory, quick) with each call through the port recorded."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Protocol

import pytest

import complaints
from tests.contract.approval.test_approval_repository import CONTRACT as APPROVAL
from tests.contract.core.test_conversation import CONTRACT as CONVERSATION
from tests.contract.core.test_ledger_adapter import CONTRACT as LEDGER
from tests.contract.intake.test_case_repository import CONTRACT as CASES
from tests.contract.investigation.test_investigation_repository import CONTRACT as INVESTIGATION
from tests.contract.investigation.test_record_store import CONTRACT as RECORDS
from tests.contract.resolution.test_resolution_repository import CONTRACT as RESOLUTION
from tests.contract.supervision.test_supervision_repository import CONTRACT as SUPERVISION
from tests.contract.support import Contract, make_subject, port_methods
from tests.contract.tasklinks.test_link_repository import CONTRACT as LINKS
from tests.contract.triage.test_triage_repository import CONTRACT as TRIAGE

CONTRACTS = [
    CASES,
    CONVERSATION,
    TRIAGE,
    INVESTIGATION,
    RECORDS,
    LINKS,
    APPROVAL,
    RESOLUTION,
    SUPERVISION,
    LEDGER,
]

# Ports that are not storage, with the reason they have no contract here.
NOT_STORAGE = {
    "complaints.core.ports.Workflow": "Step Functions (tests/integration drives it on moto)",
    "complaints.core.ports.Mailer": "SES",
    "complaints.core.ports.Callbacks": "Step Functions task tokens",
    "complaints.investigation.ports.EvidenceSource": "pluggable evidence sources, not one adapter",
    "complaints.intake.ports.MailStore": "S3, read only: tests/contract/intake/test_mail_store.py",
    "complaints.core.ports.FileStore": "S3: tests/contract/core/test_file_store.py",
}


def _uncalled(contract: Contract) -> set[str]:
    calls: set[str] = set()
    for case in contract.cases:
        case(make_subject(contract, "fake", None, calls))
    return port_methods(contract.port) - calls


def _port_protocols() -> dict[str, type]:
    found = {}
    for module in pkgutil.walk_packages(complaints.__path__, "complaints."):
        if not module.name.endswith(".ports"):
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if (
                isinstance(value, type)
                and getattr(value, "_is_protocol", False)
                and value is not Protocol
                and value.__module__ == module.name
            ):
                found[f"{module.name}.{name}"] = value
    return found


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c.port.__name__ for c in CONTRACTS])
def test_every_method_of_the_port_has_a_contract_case(contract: Contract) -> None:
    assert _uncalled(contract) == set(), f"{contract.port.__name__}: methods no contract case calls"


def test_every_storage_port_has_a_contract() -> None:
    """A port is covered by its own contract, or by the contracts of the ports built on it (KeptAnswers)."""
    covered = {klass for contract in CONTRACTS for klass in contract.port.__mro__}
    missing = [
        name for name, port in _port_protocols().items() if name not in NOT_STORAGE and port not in covered
    ]
    assert missing == []


def test_a_port_method_without_a_case_is_found() -> None:
    """The check above can fail: a contract that leaves out the cases calling hand_on is caught."""
    partial = Contract(
        LINKS.port,
        LINKS.fake,
        LINKS.adapter,
        cases=[
            case
            for case in LINKS.cases
            if "hand_on" not in case.__name__ and "keep_answer" not in case.__name__
        ],
    )
    assert _uncalled(partial) == {"hand_on", "keep_answer"}
