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
where a task that selects `finalSeconds` into `$.clocks` ran.

With the functions' contracts (`test_each_task_keeps_its_functions_contract`) a task that invokes one of
our functions is no longer opaque: the Payload it sends must be that function's request model for its
`step` (every required field sent, no field the model lacks, a constant a Literal field allows), its
ResultSelector may read only fields of the request's `Result` model (`$.Payload.<field>`), and the result
of a wait for a task token is the request's `Callback` model, the answer the link's page hands on. Each
field then carries on as set, with the values a Literal allows, so a Choice rule comparing it with a
value the model never has is reported too.

Over 400 lines: the path walker and the checks that use it (reads set before use, the tasks' models) share
one model of the state machine."""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from cfnlint.decode import cfn_yaml
from pydantic import BaseModel

from complaints import wiring
from complaints.core.models import Status
from infra import template as local_template
from infra.lambdas import load_module
from infra.template import ROOT

ASL = ROOT / "statemachine" / "complaint.asl.json"


class _Opaque:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Opaque()  # set, with contents the check does not know


@dataclass(frozen=True)
class OneOf:
    """Set, to one of these strings (a Literal field of a function's response)."""

    values: frozenset[str]

    def __repr__(self) -> str:
        return f"one of {sorted(self.values)}"


FieldPath = tuple[str, ...]
Known = dict[FieldPath, Any]  # the fields set, each a constant, ANY or OneOf; their parents are set too
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
    """The reference paths a state reads, and those of them not set; and where the state disagrees with
    the contract of the function it invokes (or reads the result of)."""

    def __init__(self) -> None:
        self.missing: list[str] = []
        self.mismatches: list[str] = []

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
    if "StringEquals" in rule and isinstance(value, OneOf) and rule["StringEquals"] not in value.values:
        read.mismatches.append(f"compares {rule['Variable']}, {value}, with {rule['StringEquals']!r}")
        return False
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


def moves(
    state: dict[str, Any], known: Known, read: Reads, contracts: Contracts | None = None
) -> list[tuple[str, Known]]:
    """Where the state can go next, with what set. With `contracts`, a task that invokes one of our
    functions sends its request model and gets its response model."""
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
    results: list[Known]  # each result the state may have (a wait's answers may be of several kinds)
    if kind == "Pass":
        results = [constant(state["Result"]) if "Result" in state else parameters]
    elif kind == "Wait":
        results = [effective]
    elif contracts is not None and contracts.invokes(state):
        results = []
        for raw in contracts.result(state, parameters, read):
            result = raw
            if "ResultSelector" in state:
                selected = Reads()
                result = evaluate(state["ResultSelector"], raw, selected)
                read.mismatches += [
                    f"ResultSelector reads {path}, not in the result" for path in selected.missing
                ]
            results.append(result)
    elif "ResultSelector" in state:  # over the task's result, which the walk does not know
        results = [evaluate(state["ResultSelector"], {(): ANY}, Reads())]
    else:
        results = [{(): ANY}]
    error = {("Error",): ANY, ("Cause",): ANY}
    caught = [(c["Next"], place(known, c.get("ResultPath", "$"), error)) for c in state.get("Catch", [])]
    if "Next" not in state:
        return caught
    outputs = [
        filtered(place(known, state.get("ResultPath", "$"), result), state.get("OutputPath", "$"), read)
        for result in results
    ]
    return [*((state["Next"], output) for output in outputs), *caught]


# ------------------------------------------------------------------ the functions' contracts


def _model_in(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _allowed(annotation: Any) -> frozenset[str]:
    """The strings a Literal field allows (empty: any value)."""
    if typing.get_origin(annotation) is Literal:
        return frozenset(value for value in typing.get_args(annotation) if isinstance(value, str))
    return frozenset()


def fields_of(model: type[BaseModel]) -> Known:
    """The fields a model's JSON always has (model_dump writes every field, None too)."""
    known: Known = {}
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested is not None:
            known |= {(name, *path): value for path, value in fields_of(nested).items()}
        else:
            allowed = _allowed(field.annotation)
            known[(name,)] = OneOf(allowed) if allowed else ANY
    return known


def sent_mismatches(model: type[BaseModel], payload: Known, where: str = "") -> list[str]:
    """How a payload disagrees with a request model: a key it has no field for, a required field not sent,
    a value its Literal does not allow; inside nested models too."""
    if not payload or () in payload:
        return [f"sends {where or 'a payload'} the check cannot see into, for {model.__name__}"]
    sent = {path[0] for path in payload}
    fields = model.model_fields
    problems = [
        f"sends {where}{key}, which {model.__name__} has no field for" for key in sorted(sent - set(fields))
    ]
    problems += [
        f"does not send {where}{name}, which {model.__name__} requires"
        for name, field in fields.items()
        if field.is_required() and name not in sent
    ]
    for name in sorted(sent & set(fields)):
        inner = select(payload, (name,))
        annotation = fields[name].annotation
        nested = _model_in(annotation)
        if nested is not None and inner.get(()) is not ANY:
            problems += sent_mismatches(nested, inner, f"{where}{name}.")
        allowed, value = _allowed(annotation), inner.get(())
        if allowed and (
            (isinstance(value, str) and value not in allowed)
            or (isinstance(value, OneOf) and not value.values <= allowed)
        ):
            problems.append(f"sends {where}{name} {value!r}, which {model.__name__} does not allow")
    return problems


class Contracts:
    """The request model of each function the state machine invokes (its handler's `Request`: a model, or
    a union of models told apart by `step`), by the FunctionName the definition gives it."""

    def __init__(self, requests: dict[str, Any]):
        self.requests = requests

    @staticmethod
    def invokes(state: dict[str, Any]) -> bool:
        return state["Type"] == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke")

    def request_model(self, function: str, payload: Known, read: Reads) -> type[BaseModel] | None:
        request = self.requests[function]
        if typing.get_origin(request) is typing.Annotated:  # Annotated[A | B, Field(discriminator=...)]
            request = typing.get_args(request)[0]
        models = typing.get_args(request) or (request,)
        if len(models) == 1:
            return models[0]
        step = payload.get(("step",))
        chosen = [model for model in models if step in _allowed(model.model_fields["step"].annotation)]
        if len(chosen) != 1:
            read.mismatches.append(f"sends {function} step {step!r}, which no request model of it takes")
            return None
        return chosen[0]

    def result(self, state: dict[str, Any], parameters: Known, read: Reads) -> list[Known]:
        """What the task may give back (before its ResultSelector): Lambda's invoke result with the response
        model as its Payload, or, for a wait for a task token, the request model's Callback (each of its
        models, when the answer is one of several kinds: findings, or a question to the complainant)."""
        function = parameters.get(("FunctionName",))
        if function not in self.requests:
            read.mismatches.append(f"invokes {function}, a function with no known request model")
            return [{(): ANY}]
        payload = select(parameters, ("Payload",))
        model = self.request_model(function, payload, read)
        if model is None:
            return [{(): ANY}]
        read.mismatches += [f"{problem} ({function})" for problem in sent_mismatches(model, payload)]
        kind = "Callback" if state["Resource"].endswith(".waitForTaskToken") else "Result"
        response = getattr(model, kind, None)
        members = (kind == "Callback" and typing.get_args(response)) or (response,)
        if any(_model_in(member) is None for member in members):
            read.mismatches.append(f"{model.__name__} names no {kind} model")
            return [{(): ANY}]
        if kind == "Callback":
            return [fields_of(member) for member in members]
        payload_fields = {("Payload", *path): value for path, value in fields_of(response).items()}
        return [payload_fields | {("StatusCode",): ANY, ("ExecutedVersion",): ANY}]


def unset_reads(
    machine: dict[str, Any], execution_input: dict[str, Any], contracts: Contracts | None = None
) -> dict[tuple[str, str], list[str]]:
    """Each (state, reference path) read where it was not set, with the first path found that gets there;
    with `contracts`, also each (state, what disagrees with a function's contract)."""
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
        for target, after in moves(machine["States"][name], known, read, contracts):
            pending.append((target, after, [*trail, target]))
        for path in [*read.missing, *read.mismatches]:
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


def _request_of(spec: local_template.FunctionSpec) -> Any:
    """The handler's `Request`, from its module loaded as Lambda loads it (its services stubbed)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, factory in vars(wiring).items():
            if inspect.isfunction(factory) and factory.__module__ == wiring.__name__:
                patch.setattr(wiring, name, lambda *args, **kwargs: None)
        env = {
            **spec.environment,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        }
        return load_module(spec, env).Request


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    """The request model of each function the definition names (${XFunctionArn}: its substitution)."""
    resources = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
    machine = next(
        r
        for r in resources.values()
        if r.get("Properties", {}).get("DefinitionUri") == "statemachine/complaint.asl.json"
    )
    functions = local_template.load().functions
    return Contracts(
        {
            f"${{{name}}}": _request_of(functions[value["Fn::GetAtt"][0]])
            for name, value in machine["Properties"]["DefinitionSubstitutions"].items()
        }
    )


def _said(problem: str) -> str:
    return f"reads {problem}, not set" if problem.startswith("$") else problem


@pytest.mark.parametrize("execution_input", STARTS.values(), ids=STARTS.keys())
def test_each_task_keeps_its_functions_contract(execution_input, contracts):
    """Each task sends its function the request model of its step, reads only fields of the response
    model (or, after a wait for a task token, of the answer the page hands on), and compares them only
    with values they can have."""
    machine = json.loads(ASL.read_text(encoding="utf-8"))

    problems = unset_reads(machine, execution_input, contracts)

    assert not problems, "\n".join(
        f"{state!r} {_said(problem)}, on: {' -> '.join(trail)}"
        for (state, problem), trail in problems.items()
    )


def test_every_task_of_the_definition_invokes_a_function_with_a_contract(contracts):
    machine = json.loads(ASL.read_text(encoding="utf-8"))
    tasks = {name: state for name, state in machine["States"].items() if state["Type"] == "Task"}

    assert tasks and all(Contracts.invokes(state) for state in tasks.values())
    assert {state["Parameters"]["FunctionName"] for state in tasks.values()} == set(contracts.requests)


class _Answer(BaseModel):
    complaintId: str
    outcome: Literal["DONE", "LATER"]


class _Ask(BaseModel):
    Result: typing.ClassVar[type[BaseModel]] = _Answer

    step: Literal["ask"]
    complaintId: str
    level: Literal["a", "b"] = "a"


class _Other(BaseModel):
    Result: typing.ClassVar[type[BaseModel]] = _Answer

    step: Literal["other"]
    complaintId: str


def _machine(payload: dict[str, Any], selector: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${F}", "Payload": payload},
                "ResultSelector": selector,
                "ResultPath": "$.asked",
                "Next": "Done?",
            },
            "Done?": {"Type": "Choice", "Choices": [rule | {"Next": "End"}], "Default": "End"},
            "End": {"Type": "Succeed"},
        },
    }


def test_the_contract_check_finds_a_renamed_field_on_either_side():
    contracts = Contracts({"${F}": typing.Annotated[_Ask | _Other, "by step"]})
    payload = {"step": "ask", "complaintId.$": "$.complaintId"}
    selector = {"outcome.$": "$.Payload.outcome"}
    rule = {"Variable": "$.asked.outcome", "StringEquals": "DONE"}
    start = {"complaintId": "C-1"}

    def problems(machine: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted(unset_reads(machine, start, contracts))

    assert problems(_machine(payload, selector, rule)) == []
    renamed = {"step": "ask", "caseId.$": "$.complaintId"}
    assert problems(_machine(renamed, selector, rule)) == [
        ("Ask", "does not send complaintId, which _Ask requires (${F})"),
        ("Ask", "sends caseId, which _Ask has no field for (${F})"),
    ]
    assert problems(_machine(payload | {"level": "c"}, selector, rule)) == [
        ("Ask", "sends level 'c', which _Ask does not allow (${F})")
    ]
    assert problems(_machine(payload | {"step": "nope"}, selector, rule))[0] == (
        "Ask",
        "sends ${F} step 'nope', which no request model of it takes",
    )
    assert problems(_machine(payload, {"outcome.$": "$.Payload.result"}, rule)) == [
        ("Ask", "ResultSelector reads $.Payload.result, not in the result")
    ]
    assert problems(_machine(payload, selector, rule | {"StringEquals": "DONE!"})) == [
        ("Done?", "compares $.asked.outcome, one of ['DONE', 'LATER'], with 'DONE!'")
    ]
