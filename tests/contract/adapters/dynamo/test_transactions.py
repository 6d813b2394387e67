"""Every multi-item write of the DynamoDB adapters is all or nothing: when its transaction fails, on a
condition of an item after others were applied (moto rolls them back) or as a whole (throttled, or
cancelled by another writer), no item of the table changed and the caller gets the domain's error."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import pytest

from complaints.adapters.dynamo import base, cases, decisions, evidence, keys, links, spikes, triage
from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository
from complaints.core.errors import ComplaintsError, ConflictError, TransientError
from complaints.core.models import Status
from infra import moto_hooks
from tests.contract.adapters.dynamo.writes import ID, SCENARIOS, WRITE_AT, Scenario, resolving
from tests.contract.support import CASE_TABLE, Subject, at, event, evidence_items, store, tally

TOKEN = "0000beef"

# What the caller gets when the write's timeline event cannot be stored (its condition fails after the
# other items were applied). The single-update-with-event writes (cases.py) read only their first item's
# condition and report any other as a fault; triage's and investigation's read any condition as a
# conflict; start_investigation reads a failed status condition as "done before", any other as a write that
# took the evidence chain's next place (retried).
EVENT_FAILS = {
    "create": ComplaintsError,
    "mark_started": ComplaintsError,
    "mark_acknowledged": ComplaintsError,
    "mark_ack_withheld": ComplaintsError,
    "mark_needs_attention": ComplaintsError,
    "resume": ComplaintsError,
    "start_investigation": TransientError,
}


@pytest.fixture
def kind() -> str:
    return "dynamo"


@pytest.fixture
def s(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Subject:
    # Timeline events get a fixed suffix, so a test can take an event's key before the write does.
    monkeypatch.setattr(keys, "secrets", SimpleNamespace(token_hex=lambda _: TOKEN))
    repository = DynamoInvestigationRepository(tables[CASE_TABLE])
    return Subject("dynamo", repository, repository, tables)


def _fails_with(write, expected: Any) -> None:
    if expected is False:
        assert write() is False
        return
    with pytest.raises(expected) as raised:
        write()
    if expected is ComplaintsError:  # a fault: neither retried nor taken for a conflict
        assert not isinstance(raised.value, ConflictError | TransientError)


def test_every_multi_item_write_is_here() -> None:
    """A new multi-item write in the adapters needs its scenario (writes.py) to be tested here."""
    transacting = {"hand_on", "rebind_link"}  # through _update_link
    for module in (base, cases, triage, spikes, evidence, links, decisions):
        for klass in (
            m for _, m in inspect.getmembers(module, inspect.isclass) if m.__module__ == module.__name__
        ):
            for name, method in vars(klass).items():
                if name.startswith("_") or not callable(method):
                    continue
                source = inspect.getsource(method)
                if any(
                    call in source
                    for call in (
                        "transact_write_items",
                        "self._transact(",
                        "self._update_with_event(",
                        "self._update_case(",
                    )
                ):
                    transacting.add(name)
    assert len(transacting) >= 15
    assert transacting - {scenario.name for scenario in SCENARIOS} == set()


@pytest.mark.parametrize("scenario", [sc for sc in SCENARIOS if sc.has_event], ids=lambda sc: sc.name)
def test_a_write_whose_event_cannot_be_stored_changes_nothing(s: Subject, scenario: Scenario) -> None:
    write = scenario.prepare(s)
    s.tables[CASE_TABLE].put_item(
        Item={
            "pk": f"CASE#{ID}",
            "sk": f"EVENT#{at(WRITE_AT).isoformat()}#{TOKEN}",
            "kind": "event",
            "at": at(WRITE_AT).isoformat(),
            "type": "EARLIER",
            "params": {},
        }
    )
    before = s.snapshot()

    _fails_with(write, EVENT_FAILS.get(scenario.name, ConflictError))

    assert s.snapshot() == before


@pytest.mark.parametrize("fault", ["TransactionConflict", "ProvisionedThroughputExceededException"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda sc: sc.name)
def test_a_cancelled_or_throttled_transaction_changes_nothing_and_is_retried(
    s: Subject, scenario: Scenario, fault: str
) -> None:
    write = scenario.prepare(s)
    before = s.snapshot()
    moto_hooks.inject_fault("TransactWriteItems", fault)

    with pytest.raises(TransientError):
        write()

    assert s.snapshot() == before
    write()  # the retry goes through
    assert s.snapshot() != before


class _Meanwhile:
    """The low-level client, with another writer's change made just before each transaction."""

    def __init__(self, client: Any, change):
        self._client, self._change = client, change

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._change()
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_close_case_when_another_close_took_the_last_open_case_meanwhile(
    s: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The roster release (an item after the case, its event, the archive and the counters) fails its
    condition: the case is not CLOSED, no archive, no event, no counters."""
    case = resolving(s)
    roster = s.tables[CASE_TABLE]
    take_last = lambda: roster.update_item(  # noqa: E731
        Key={"pk": "ROSTER#payments", "sk": "INV#inv-1"},
        UpdateExpression="SET open_cases = :zero",
        ExpressionAttributeValues={":zero": 0},
    )
    monkeypatch.setattr(s.raw, "_client", _Meanwhile(s.raw._client, take_last))
    with pytest.raises(ConflictError):
        s.raw.close_case(case, event("CLOSED", WRITE_AT), tally(closed=1), at(60 * 24 * 2000))

    items = s.snapshot()[CASE_TABLE]
    assert not [i for i in items if i["pk"].startswith(("ARCHIVE#", "STATS"))]
    assert s.raw.get(ID)[0].status == case.status
    assert [e.type for e in s.raw.get(ID)[1]] == ["RECEIVED", "TRIAGED", "APPROVED"]
    assert s.raw.investigator_loads("payments")["inv-1"][0] == 0  # the other close's change stands


def test_start_investigation_with_an_evidence_item_taken_changes_nothing(s: Subject) -> None:
    """The case update (the first item) applied, the third item's condition fails: rolled back, and the
    step is retried (the chain is read again), not taken for "started before"."""

    case = store(s, ID, status=Status.TRIAGED)
    items = evidence_items(3)
    s.tables[CASE_TABLE].put_item(
        Item={
            "pk": f"CASE#{ID}",
            "sk": "EVIDENCE#0001",
            "kind": "evidence",
            **items[1].model_dump(mode="json"),
        }
    )
    before = s.snapshot()

    with pytest.raises(TransientError):
        s.raw.start_investigation(case, items, event("INVESTIGATING", WRITE_AT))

    assert s.snapshot() == before
