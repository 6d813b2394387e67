"""The bench's one call meter: botocore hooks that see every AWS call made on the sessions it watches.

A call is the meter's own (`take()`) when it is made in its scope, and counted by operation as
background (`take_background()`) otherwise. The scope is either

* `this_thread()`: the thread that asked, and the handler threads it starts by invoking a function
  in-process (a FunctionRuntime runs its handler in a copy of its caller's context), or
* `invocations(stack)`: inside any handler invocation of the stack's (scheduled functions excluded),
  whichever thread made it; the invocations' wall times are kept too (`take_invocations()`).

Each call of its own is a `Call`: its operation, what it reads or writes and whether it is a read
(from its parameters), its time from provide-client-params (before serialization) to after-call (the
response parsed), what it read (Query: ScannedCount and Count; GetItem, BatchGetItem: the items
found), the keys it asked for, the request units it is estimated to cost, and, while `capturing`, a
copy of its parameters. Register a meter on a session before that session's first client is made:
clients copy the session's hooks when they are created (a function's clients at its cold start).

Also here: full garbage collections (`GcWatch`) and the summary of a list of timings (`summary`)."""

from __future__ import annotations

import contextvars
import copy
import gc
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
READS = {"GetItem", "Query", "Scan"}


@dataclass
class Call:
    op: str  # "dynamodb.Query"
    what: str = ""  # what it reads or writes, from its parameters
    read: bool = False
    seconds: float = 0.0
    scanned: int = 0  # Query: ScannedCount; GetItem/BatchGetItem: items found
    returned: int = 0  # Query: Count; GetItem/BatchGetItem: items found
    keys: int = 0  # GetItem/BatchGetItem: keys asked for
    read_units: float = 0.0  # ESTIMATED: items of 1 KB or less
    write_units: float = 0.0
    params: dict[str, Any] | None = field(default=None, repr=False)  # while capturing

    def row(self) -> dict[str, Any]:
        """The figures, for the JSON output."""
        return {name: value for name, value in self.__dict__.items() if name != "params"}


def _plain(value: Any) -> Any:
    """A key value as the resource passes it ("CASE#x") or the client does ({"S": "CASE#x"})."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value


def _prefix(value: Any) -> str:
    text = _plain(value)
    return text.split("#", 1)[0] if isinstance(text, str) else "?"


def classify(operation: str, params: dict[str, Any]) -> tuple[str, bool]:
    """What a DynamoDB call reads or writes, and whether it is a read."""
    if operation == "Query":
        if params.get("IndexName") == "GSI2":
            return "customer's recent cases, GSI2", True
        values = list((params.get("ExpressionAttributeValues") or {}).values())
        prefix = _prefix(values[0]) if values else "?"
        return {"CASE": "case + timeline", "ROSTER": "department roster"}.get(prefix, f"{prefix}#"), True
    if operation == "GetItem":
        key = params.get("Key", {})
        if _prefix(key.get("pk")) == "SPIKE":
            return "hour counter", True
        return f"{_prefix(key.get('pk'))}#", True
    if operation == "BatchGetItem":
        return "trailing hour counters", True
    if operation == "TransactWriteItems":
        kinds = [next(iter(item)) for item in params.get("TransactItems", [])]
        return "[" + ", ".join(kinds) + "]", False
    if operation in ("UpdateItem", "PutItem", "DeleteItem"):
        key = params.get("Key") or params.get("Item") or {}
        return f"{_prefix(key.get('pk'))}#{_prefix(key.get('sk'))}", False
    return "", False


def request_units(operation: str, params: dict[str, Any]) -> tuple[float, float]:
    """ESTIMATED read and write units of a DynamoDB call: items of 1 KB or less, 1 unit per item read or
    written, 2 in transactions, 0.5 for an eventually consistent read, 1 read per Query or Scan (a lower
    bound: one reading more than 4 KB costs more)."""
    if operation in WRITES:
        return 0.0, 1.0
    if operation == "TransactWriteItems":
        return 0.0, 2.0 * len(params.get("TransactItems", []))
    if operation == "BatchWriteItem":
        return 0.0, float(sum(len(v) for v in params.get("RequestItems", {}).values()))
    if operation in READS:
        return (1.0 if params.get("ConsistentRead") else 0.5), 0.0
    if operation == "TransactGetItems":
        return 2.0 * len(params.get("TransactItems", [])), 0.0
    if operation == "BatchGetItem":
        return float(sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())), 0.0
    return 0.0, 0.0


def _keys_asked(operation: str, params: dict[str, Any]) -> int:
    if operation == "BatchGetItem":
        return sum(len(table["Keys"]) for table in params.get("RequestItems", {}).values())
    return int(operation == "GetItem")


class Meter:
    def __init__(self) -> None:
        self._mine: contextvars.ContextVar[int] = contextvars.ContextVar(f"meter_{id(self)}", default=0)
        self._lock = threading.Lock()
        self._flight = threading.local()  # the call in progress on each thread, and when it began
        self._calls: list[Call] = []
        self._background: Counter[str] = Counter()
        self._invocations: list[float] = []
        self.capturing = False

    # -------------------------------------------------------- what it watches
    def watch(self, *sessions: Any) -> Meter:
        for session in sessions:
            events = session.events
            events.register("provide-client-params", self._params, unique_id=f"meter-params-{id(self)}")
            events.register("before-call", self._before_call, unique_id=f"meter-before-{id(self)}")
            events.register("after-call", self._after_call, unique_id=f"meter-after-{id(self)}")
        return self

    def watch_functions(self, stack: Any) -> Meter:
        """Every function's own session (its execution role's): all the calls its handlers make."""
        return self.watch(*(runtime.session for runtime in stack.runtimes.values()))

    def this_thread(self) -> Meter:
        self._mine.set(1)
        return self

    def invocations(self, stack: Any) -> Meter:
        for runtime in stack.runtimes.values():
            if not runtime.spec.schedule_seconds:
                runtime.invoke = self._timed(runtime.invoke)
        return self

    def _timed(self, invoke: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def timed(event: Any) -> Any:
            token = self._mine.set(self._mine.get() + 1)  # the handler's thread runs in this context
            started = time.perf_counter()
            try:
                return invoke(event)
            finally:
                self._mine.reset(token)
                with self._lock:
                    self._invocations.append(time.perf_counter() - started)

        return timed

    # -------------------------------------------------------- botocore hooks
    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self._mine.get():
            return
        service = model.service_model.service_name
        call = Call(f"{service}.{model.name}")
        if service == "dynamodb":
            call.what, call.read = classify(model.name, params)
            call.keys = _keys_asked(model.name, params)
            call.read_units, call.write_units = request_units(model.name, params)
        if self.capturing:
            call.params = copy.deepcopy(params)
        self._flight.call = call
        self._flight.started = time.perf_counter()  # the first hook of a call: before serialization

    def _before_call(self, model: Any, **_: Any) -> None:
        op = f"{model.service_model.service_name}.{model.name}"
        if not self._mine.get():
            with self._lock:
                self._background[op] += 1
            return
        call = getattr(self._flight, "call", None)
        if call is None or call.op != op:
            call = self._flight.call = Call(op)
            self._flight.started = time.perf_counter()
        with self._lock:
            self._calls.append(call)

    def _after_call(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        call = getattr(self._flight, "call", None)
        if not self._mine.get() or call is None:
            return
        self._flight.call = None
        call.seconds = time.perf_counter() - self._flight.started
        if model.name == "Query":
            call.scanned, call.returned = int(parsed.get("ScannedCount", 0)), int(parsed.get("Count", 0))
        elif model.name == "GetItem":
            call.scanned = call.returned = int(bool(parsed.get("Item")))
        elif model.name == "BatchGetItem":
            call.scanned = call.returned = sum(len(items) for items in parsed.get("Responses", {}).values())

    # -------------------------------------------------------- what it saw
    def take(self) -> list[Call]:
        """Its own calls since the last take()."""
        with self._lock:
            taken, self._calls = self._calls, []
        return taken

    def take_background(self) -> dict[str, int]:
        with self._lock:
            taken, self._background = self._background, Counter()
        return dict(sorted(taken.items()))

    def take_invocations(self) -> list[float]:
        """The wall time of each invocation timed since the last time, in seconds."""
        with self._lock:
            taken, self._invocations = self._invocations, []
        return taken


class GcWatch:
    """Full (generation 2) garbage collections: how many, and how long they paused everything."""

    def __init__(self) -> None:
        self._started = 0.0
        self.count = 0
        self.seconds = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started

    def take(self) -> tuple[int, float]:
        taken = self.count, self.seconds
        self.count, self.seconds = 0, 0.0
        return taken

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


def summary(samples: list[float]) -> dict[str, Any]:
    total = sum(samples)
    return {
        "n": len(samples),
        "total_s": total,
        "req_per_s": len(samples) / total,
        "mean_ms": 1000 * total / len(samples),
        "median_ms": 1000 * statistics.median(samples),
        "p90_ms": 1000 * statistics.quantiles(samples, n=10, method="inclusive")[-1],
        "min_ms": 1000 * min(samples),
        "max_ms": 1000 * max(samples),
        "samples_ms": [round(1000 * sample, 3) for sample in samples],
    }
