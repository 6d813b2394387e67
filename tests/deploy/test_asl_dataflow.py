"""Every path through the case state machine sets what its states read.

On AWS a reference path that matches nothing (`$.clocks.reminderSeconds` in an execution that never set
`$.clocks`) is a States.Runtime error, which a Catch of States.ALL does not catch: the execution fails and
the case never shows NEEDS_ATTENTION. (moto's interpreter lets the Catch take it: the local stack does not
show this.) So this walks the definition from its start, with a new case's input
and with a retry's input for each status a case can resume at, along every Next, Choice, Default and Catch
edge. It tracks which fields of the state's JSON are set (the execution input, a task's or a catcher's
ResultPath, a Pass state's Result or Parameters; InputPath, ResultPath and OutputPath as the language
defines them), and checks every reference path a state reads against them. A Choice rule walks only the
branches it can take with what is known: `IsPresent` on a field set (or not) on this path, `StringEquals` on
a value the input gave, as "Start or resume?" does with `resumeAt`.

A task's result is opaque (a Lambda's payload, a human's answer): a read below `$.answer` counts as set
once `$.answer` is. A ResultSelector names the fields a task keeps: `$.clocks.finalSeconds` is set only
where a task that selects `finalSeconds` into `$.clocks` ran."""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

import pytest

from complaints.core.models import Status
from infra.template import ROOT

ASL = ROOT / "statemachine" / "complaint.asl.json"


class _Opaque:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Opaque()  # set, with contents the check does not know
FieldPath = tuple[str, ...]
Known = dict[FieldPath, Any]  # the fields set, each a constant or ANY; their parent objects are set too
PATH_FIELDS = ("TimeoutSecondsPath", "HeartbeatSecondsPath", "ItemsPath", "SecondsPath", "TimestampPath")


def fields(path: str) -> FieldPath:
    assert re.fullmatch(r"\$(\.\w+)*", path), f"the check reads only $.a.b paths, not {path}"
    return tuple(path.split(".")[1:])


def is_set(known: Known, path: FieldPath) -> bool | None:
    """True: set; None: maybe (below an opaque value); False: not set on this path."""
    if not path or any(key[: len(path)] == path for key in known):
        return True
    if any(path[: len(key)] == key and value is ANY for key, value in known.items()):
        return None
    return False


def select(known: Known, path: FieldPath) -> Known:
    """The value at `path`, as the fields seen from it."""
    if not path:
        return known
    if path in known:
        return {(): known[path]}
    inside = {key[len(path) :]: value for key, value in known.items() if key[: len(path)] == path}
    return inside or {(): ANY}


def place(known: Known, result_path: str | None, result: Known) -> Known:
    """ResultPath: the result replaces what was at that path (the whole input at "$"); null discards it."""
    if result_path is None:
        return known
    path = fields(result_path)
    kept = {key: value for key, value in known.items() if key[: len(path)] != path}
    return kept | {path + key: value for key, value in result.items()}


def constant(value: Any) -> Known:
    if isinstance(value, dict) and value:
        return {(name, *key): leaf for name, item in value.items() for key, leaf in constant(item).items()}
    return {(): value if isinstance(value, str | int | float | bool | type(None)) else ANY}


class Reads:
    """The reference paths a state reads, and those of them not set."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def __call__(self, known: Known, path: str) -> Known:
        if is_set(known, fields(path)) is False:
            self.missing.append(path)
        return select(known, fields(path))


def evaluate(template: dict[str, Any], known: Known, read: Reads) -> Known:
    """The JSON a Parameters (or ResultSelector) template makes of `known`."""
    made: Known = {}
    for key, value in template.items():
        if not key.endswith(".$"):
            inner = evaluate(value, known, read) if isinstance(value, dict) and value else constant(value)
            made |= {(key, *path): leaf for path, leaf in inner.items()}
        elif value.startswith("$$"):  # the context object: the task token, the execution id
            made[(key[:-2],)] = ANY
        elif value.startswith("$"):
            made |= {(key[:-2], *path): leaf for path, leaf in read(known, value).items()}
        else:  # an intrinsic function, States.Format($.a, ...): its arguments are read
            for path in re.findall(r"(?<![\w$])\$(?:\.\w+)*(?![\w$])", value):
                read(known, path)
            made[(key[:-2],)] = ANY
    return made


def holds(rule: dict[str, Any], known: Known, read: Reads) -> bool | None:
    """Whether a Choice rule matches: True, False, or None when the walk cannot tell."""
    if "Not" in rule:
        verdict = holds(rule["Not"], known, read)
        return None if verdict is None else not verdict
    for combinator, decisive in (("And", False), ("Or", True)):
        if combinator in rule:
            verdicts = [holds(inner, known, read) for inner in rule[combinator]]
            return decisive if decisive in verdicts else (None if None in verdicts else not decisive)
    path = fields(rule["Variable"])
    if "IsPresent" in rule:
        present = is_set(known, path)
        return None if present is None else present == rule["IsPresent"]
    read(known, rule["Variable"])
    value = known.get(path, ANY)
    if "StringEquals" in rule and isinstance(value, str):
        return value == rule["StringEquals"]
    return None


def choose(state: dict[str, Any], known: Known, read: Reads) -> list[tuple[str, Known]]:
    moves = []
    for rule in state["Choices"]:
        verdict = holds(rule, known, read)
        if verdict is not False:
            moves.append((rule["Next"], known))
        if verdict is True:
            return moves
    return [*moves, (state["Default"], known)] if "Default" in state else moves


def filtered(known: Known, path: str | None, read: Reads) -> Known:
    """InputPath or OutputPath: the part of `known` at `path` ("$": all of it; null: an empty object)."""
    return {} if path is None else read(known, path)


def moves(state: dict[str, Any], known: Known, read: Reads) -> list[tuple[str, Known]]:
    """Where the state can go next, with what set."""
    kind = state["Type"]
    if kind == "Fail":
        for key in ("ErrorPath", "CausePath"):
            if key in state:
                read(known, state[key])
        return []
    effective = filtered(known, state.get("InputPath", "$"), read)
    if kind in ("Choice", "Succeed"):
        nexts = choose(state, effective, read) if kind == "Choice" else []
        return [(target, filtered(after, state.get("OutputPath", "$"), read)) for target, after in nexts]
    for key in PATH_FIELDS:
        if key in state:
            read(effective, state[key])
    parameters = evaluate(state["Parameters"], effective, read) if "Parameters" in state else effective
    if kind == "Pass":
        result = constant(state["Result"]) if "Result" in state else parameters
    elif kind == "Wait":
        result = effective
    elif "ResultSelector" in state:  # over the task's result, which the walk does not know
        result = evaluate(state["ResultSelector"], {(): ANY}, Reads())
    else:
        result = {(): ANY}
    error = {("Error",): ANY, ("Cause",): ANY}
    caught = [(c["Next"], place(known, c.get("ResultPath", "$"), error)) for c in state.get("Catch", [])]
    if "Next" not in state:
        return caught
    output = filtered(place(known, state.get("ResultPath", "$"), result), state.get("OutputPath", "$"), read)
    return [(state["Next"], output), *caught]


def unset_reads(machine: dict[str, Any], execution_input: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Each (state, reference path) read where it was not set, with the first path found that gets there."""
    found: dict[tuple[str, str], list[str]] = {}
    seen = set()
    start = constant(execution_input) if execution_input else {}
    pending = deque([(machine["StartAt"], start, [machine["StartAt"]])])
    while pending:
        name, known, trail = pending.popleft()
        if (name, frozenset(known.items())) in seen:
            continue
        seen.add((name, frozenset(known.items())))
        read = Reads()
        for target, after in moves(machine["States"][name], known, read):
            pending.append((target, after, [*trail, target]))
        for path in read.missing:
            found.setdefault((name, path), trail)
    return found


# A retry resumes at the status the case failed in: any status but NEEDS_ATTENTION itself.
STARTS = {"a new case": {"complaintId": "CMP-20260101-NEW001"}} | {
    f"resumeAt={status}": {"complaintId": "CMP-20260101-RTY001", "resumeAt": status.value}
    for status in Status
    if status != Status.NEEDS_ATTENTION
}


@pytest.mark.parametrize("execution_input", STARTS.values(), ids=STARTS.keys())
def test_every_path_sets_what_its_states_read(execution_input):
    machine = json.loads(ASL.read_text(encoding="utf-8"))

    unset = unset_reads(machine, execution_input)

    assert not unset, "\n".join(
        f"{state!r} reads {path}, not set on: {' -> '.join(trail)}" for (state, path), trail in unset.items()
    )


def test_the_check_follows_result_paths_and_is_present():
    machine = {
        "StartAt": "Has x?",
        "States": {
            "Has x?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": False, "Next": "Set x"}],
                "Default": "Use x and y",
            },
            "Set x": {"Type": "Pass", "Result": {"z": 1}, "ResultPath": "$.x", "Next": "Use x and y"},
            "Use x and y": {"Type": "Pass", "Parameters": {"z.$": "$.x.z", "y.$": "$.y"}, "End": True},
        },
    }

    assert unset_reads(machine, {}) == {("Use x and y", "$.y"): ["Has x?", "Set x", "Use x and y"]}
    assert unset_reads(machine, {"x": {"z": 2}, "y": 0}) == {}
    assert unset_reads(machine, {"x": 2, "y": 0}) == {("Use x and y", "$.x.z"): ["Has x?", "Use x and y"]}
