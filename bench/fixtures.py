"""What the sections set up: an embedded stack on free ports, and the table's items, put in directly.

Items are written the way the product stores them: copies of the items its own code wrote (`clone`,
`naming`), or, for the counters it only ever adds to, at the keys its keys module builds."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as moto_dynamodb
import moto.dynamodb.models.dynamo_type as moto_types
from boto3.dynamodb.types import TypeSerializer
from moto.moto_api._internal.models import moto_api_backend

from complaints.adapters.dynamo import keys
from infra.stack import EmbeddedStack, StackConfig
from infra.template import ACCOUNT
from tests.support.driver import free_port


@contextmanager
def embedded_stack(time_scale: float, meter: Any = None) -> Iterator[tuple[EmbeddedStack, float]]:
    """An EmbeddedStack on fresh ports, started after moto's process-wide state is reset (moto keeps its
    backends in the process: an earlier stack's table and state machine would still be there), and the
    seconds its start took. `meter` watches the functions' own sessions from before their first
    invocation (a cold start makes the function's clients). Stopped on the way out, the heap unfrozen."""
    moto_api_backend.reset()
    stack = EmbeddedStack(StackConfig(port=free_port(), aws_port=free_port(), time_scale=time_scale))
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    if meter is not None:
        meter.watch_functions(stack)
    try:
        yield stack, startup
    finally:
        stack.stop(grace=1)
        gc.unfreeze()


# ---------------------------------------------------------------- items


def clone(value: Any, replacements: dict[str, str]) -> Any:
    """`value` with every string in it (keys and values alike) rewritten by `replacements`."""
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: clone(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item, replacements) for item in value]
    return value


def mentions(value: Any, text: str) -> bool:
    """Whether any string in `value` holds `text`."""
    if isinstance(value, str):
        return text in value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return any(mentions(item, text) for item in items)


def scan(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(ConsistentRead=True, **kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def naming(table: Any, complaint_id: str) -> list[dict[str, Any]]:
    """Every item that names the complaint (its case, timeline, evidence, task links, intake claim and the
    hour counters it is an example of). A scan: for a table of a few complaints."""
    return [item for item in scan(table) if mentions(item, complaint_id)]


def empty(table: Any) -> int:
    found = scan(table, ProjectionExpression="pk, sk")
    with table.batch_writer() as batch:
        for key in found:
            batch.delete_item(Key=key)
    return len(found)


def spike_counter(category: str, hour: str, complaints: int, **more: Any) -> dict[str, Any]:
    """An hour's complaints of a category, as SpikeWatch's ADDs leave them."""
    return {**keys.spike_hour_key(category, hour), "kind": "spike_counter", "complaints": complaints, **more}


def roster_counter(department: str, investigator: str, open_cases: int, at: str) -> dict[str, Any]:
    """An investigator's open cases, as triage's ADDs leave them."""
    return {
        **keys.roster_key(department, investigator),
        "kind": "roster",
        "open_cases": open_cases,
        "last_assigned_at": at,
    }


# ---------------------------------------------------------------- putting them in


@contextmanager
def collector_off() -> Iterator[None]:
    """A load only adds long-lived objects: no collection runs meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def batch_put(table: Any, items: list[dict[str, Any]]) -> float:
    """BatchWriteItem requests of 25 items (boto3's batch_writer); the seconds they took."""
    start = time.perf_counter()
    with collector_off(), table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    return time.perf_counter() - start


def backend_put(table_name: str, region: str, items: list[dict[str, Any]], check_sizes: bool = True) -> float:
    """Straight into moto's backend: DynamoDBBackend.put_item, the call moto's BatchWriteItem handler makes
    for each item it is sent, without the HTTP round trips and botocore's validation and serialization;
    the seconds it took. `check_sizes=False` skips moto's 400 KB check, which sums the item's size again
    for each attribute it sets (quadratic in the attributes)."""
    backend = moto_dynamodb.dynamodb_backends[ACCOUNT][region]
    serialize = TypeSerializer().serialize
    limited = moto_types.LimitedSizeDict
    checked = limited.__setitem__
    start = time.perf_counter()
    with collector_off():
        if not check_sizes:
            limited.__setitem__ = dict.__setitem__  # type: ignore[method-assign,assignment]
        try:
            for item in items:
                backend.put_item(table_name, {name: serialize(value) for name, value in item.items()})
        finally:
            limited.__setitem__ = checked  # type: ignore[method-assign]
    return time.perf_counter() - start


def backend_table(table_name: str, region: str) -> Any:
    return moto_dynamodb.dynamodb_backends[ACCOUNT][region].get_table(table_name)
