"""(f) A burst on a full table: many complaints at once, on a stack that holds a long history.

Setup. An EmbeddedStack on fresh ports, time scale 1 (no SLA timer fires during the run). A few real
complaints are sent through the API and followed until they wait for their investigator; their items
(case, timeline, evidence, task link, intake claim) are the models of the history: `history`
complaints, cloned with their own ids, customers (4 complaints each), times (40 an hour before now,
newest first) and hour counters, put straight into moto's backend. All but the newest 300 are closed
(out of their work queue), as a live table mostly holds closed cases.

The burst. A separate process (the stack's own process has the GIL to share with nobody but the stack)
sends `requests` POST /complaints over HTTP at once from as many threads, released together; `duplicates`
of them repeat the body of another one (the same customer and text: the same case, exactly once).
A quarter of the customers have history. Then every distinct case is followed (GetItem of its case item,
every half second) until it waits for its investigator (its investigation link is set) or needs
attention; the run fails if any case is neither after `settle` seconds.

Reported: the intake answers (status, latency p50/p90/max), the time from the first POST to the last case
at the investigator's wait, the sustained rate (cases at their investigator's wait / that time), cases
RELATED to an open case of the same customer (the product's duplicate check: they need no investigator),
cases NEEDS_ATTENTION (with their reasons), cases neither after `settle` seconds, and the full garbage
collections meanwhile."""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing
import secrets
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from bench.intake import GcWatch, free_port
from bench.triage import TEXTS  # several categories and departments; none near another
from complaints.core import ids
from complaints.triage.rules import hour_bucket
from infra.stack import EmbeddedStack, StackConfig
from infra.template import ACCOUNT

Progress = Callable[[str], None]
RATE_PER_HOUR = 40
PER_CUSTOMER = 4
OPEN_CASES = 300  # the newest history cases still open (in their queues)


def complaint_body(n: int, email: str) -> dict[str, Any]:
    text, amount = TEXTS[n % len(TEXTS)]
    body: dict[str, Any] = {
        "customer": {"email": email, "locale": "en"},
        "description": f"{text} (reference R-{n:05d})",
    }
    if amount:
        body["amount"] = {"value": amount, "currency": "EUR"}
    return body


def _post(url: str, body: dict[str, Any]) -> tuple[int, float, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the embedded stack's loopback gateway
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - loopback gateway
            status, payload = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except OSError as error:  # no answer at all
        return 0, time.perf_counter() - start, {"error": str(error)}
    elapsed = time.perf_counter() - start
    try:
        return status, elapsed, json.loads(payload)
    except ValueError:
        return status, elapsed, {"body": payload[:200].decode(errors="replace")}


def _send_all(url: str, bodies: list[dict[str, Any]], ready: Any, go: Any, out: Any) -> None:
    """In the load process: one thread per body, released together; the answers go back on `out`."""
    barrier = threading.Barrier(len(bodies) + 1)
    answers: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = _post(url, bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    ready.set()
    go.wait()
    started = time.time()
    barrier.wait()
    for thread in threads:
        thread.join()
    out.put({"started": started, "answers": answers})


class BurstBench:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.stack = EmbeddedStack(StackConfig(port=free_port(), aws_port=free_port(), time_scale=1))
        self.stack.start()
        self.table_name = next(iter(self.stack.template.tables))
        self.dynamodb = self.stack.client("dynamodb")
        self.deserialize = TypeDeserializer().deserialize
        self.models: list[list[dict[str, Any]]] = []

    def close(self) -> None:
        self.stack.stop(grace=1)

    # -------------------------------------------------------- following cases
    def _case(self, complaint_id: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"CASE#{complaint_id}"}, "sk": {"S": "CASE"}}
        ).get("Item", {})
        return {name: self.deserialize(value) for name, value in item.items()}

    def follow(self, complaint_ids: list[str], settle: float) -> dict[str, tuple[str, float, str]]:
        """complaint id -> (state, when seen (time.time()), detail); state: WAITING (for its investigator),
        RELATED, NEEDS_ATTENTION or UNSETTLED."""
        seen: dict[str, tuple[str, float, str]] = {}
        deadline = time.monotonic() + settle
        while len(seen) < len(complaint_ids) and time.monotonic() < deadline:
            for complaint_id in complaint_ids:
                if complaint_id in seen:
                    continue
                case = self._case(complaint_id)
                if case.get("status") == "NEEDS_ATTENTION":
                    seen[complaint_id] = ("NEEDS_ATTENTION", time.time(), str(case.get("attention_reason")))
                elif case.get("status") == "RELATED":  # joined an open case of the same customer
                    seen[complaint_id] = ("RELATED", time.time(), str(case.get("related_to")))
                elif case.get("investigation_link_id"):
                    seen[complaint_id] = ("WAITING", time.time(), "")
            time.sleep(0.5)
        for complaint_id in complaint_ids:
            if complaint_id not in seen:
                case = self._case(complaint_id)
                seen[complaint_id] = ("UNSETTLED", time.time(), str(case.get("status")))
        return seen

    # -------------------------------------------------------- history
    def _partition(self, pk: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )
        return [{k: self.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]

    def make_models(self) -> None:
        """Real cases, followed to the investigator's wait: each one's items are a model of the history."""
        self.progress("burst: a few real complaints as models of the history")
        url = f"{self.stack.api_url}/complaints"
        accepted = []
        for n in range(len(TEXTS)):
            status, _, answer = _post(url, complaint_body(n, f"model.{n}@example.com"))
            if status != 202:
                raise SystemExit(f"bench: POST /complaints answered {status}: {answer}")
            accepted.append(answer["complaintId"])
        seen = self.follow(accepted, settle=120)
        if [seen.get(c, ("?",))[0] for c in accepted] != ["WAITING"] * len(accepted):
            raise SystemExit(f"bench: the model complaints did not reach their investigator: {seen}")
        claims = self.dynamodb.scan(
            TableName=self.table_name,
            FilterExpression="kind = :claim",
            ExpressionAttributeValues={":claim": {"S": "claim"}},
        )["Items"]
        claim_of = {
            self.deserialize(c["complaintId"]): {k: self.deserialize(v) for k, v in c.items()} for c in claims
        }
        for complaint_id in accepted:
            items = self._partition(f"CASE#{complaint_id}")
            case = next(item for item in items if item["sk"] == "CASE")
            items += self._partition(f"LINK#{case['investigation_link_id']}")
            items.append(claim_of[complaint_id])
            self.models.append(items)

    def _history(self, start: int, stop: int, hour0: datetime) -> list[dict[str, Any]]:
        step = timedelta(hours=1) / RATE_PER_HOUR
        out: list[dict[str, Any]] = []
        hours: Counter[tuple[str, str]] = Counter()
        for n in range(start, stop):
            model = self.models[n % len(self.models)]
            at = hour0 - (n + 1) * step
            iso = at.isoformat()
            complaint_id = f"CMP-{at:%Y%m%d}-H{n:05d}"
            email = f"history.{n // PER_CUSTOMER}@example.com"
            link_id = secrets.token_urlsafe(12)
            closed = n >= OPEN_CASES
            for source in model:
                item = copy.deepcopy(source)
                kind = item["pk"].split("#", 1)[0]
                if kind == "CLAIM":
                    item["pk"] = "CLAIM#" + hashlib.sha256(complaint_id.encode()).hexdigest()
                    item["complaintId"] = complaint_id
                elif kind == "LINK":
                    item["pk"] = f"LINK#{link_id}"
                    item["link_id"] = link_id
                    item["complaint_id"] = complaint_id
                    if closed:
                        item["status"] = "DONE"
                else:
                    item["pk"] = f"CASE#{complaint_id}"
                    if "complaint_id" in item:
                        item["complaint_id"] = complaint_id
                if item["sk"] == "CASE":
                    item |= {
                        "created_at": iso,
                        "updated_at": iso,
                        "gsi2pk": f"CUSTOMER#{ids.customer_key(email)}",
                        "gsi2sk": iso,
                        "investigation_link_id": link_id,
                        "customer": {**item["customer"], "email": email},
                    }
                    if closed:
                        item["status"] = "CLOSED"
                        for key in ("gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk"):
                            item.pop(key, None)
                    hours[(item["category"], hour_bucket(at))] += 1
                out.append(item)
        for (category, hour), count in hours.items():
            out.append(
                {
                    "pk": f"SPIKE#{category}",
                    "sk": f"HOUR#{hour}",
                    "kind": "spike_counter",
                    "complaints": count,
                }
            )
        return out

    def seed(self, history: int) -> dict[str, Any]:
        self.progress(f"burst: {history:,} complaints of history into the table")
        hour0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        backend = moto_dynamodb.dynamodb_backends[ACCOUNT][self.stack.config.region]
        serialize = TypeSerializer().serialize
        start = time.perf_counter()
        items = 0
        for first in range(0, history, 1000):
            for item in self._history(first, min(first + 1000, history), hour0):
                backend.put_item(self.table_name, {k: serialize(v) for k, v in item.items()})
                items += 1
        table = backend.get_table(self.table_name)
        return {
            "complaints": history,
            "items": items,
            "table_items": len(table.all_items()),
            "load_s": round(time.perf_counter() - start, 1),
        }

    # -------------------------------------------------------- the burst
    def burst(self, requests: int, duplicates: int, settle: float) -> dict[str, Any]:
        distinct = requests - duplicates
        run = secrets.token_hex(3)
        bodies = [
            complaint_body(
                n,
                f"history.{n * 7}@example.com" if n % 4 == 0 else f"burst.{run}.{n}@example.com",
            )
            for n in range(distinct)
        ]
        bodies += [bodies[(n * 3) % distinct] for n in range(duplicates)]
        self.progress(f"burst: {requests} POST /complaints at once ({duplicates} repeat another)")
        gc_watch = GcWatch()
        spawn = multiprocessing.get_context("spawn")
        ready, go, out = spawn.Event(), spawn.Event(), spawn.Queue()
        loader = spawn.Process(
            target=_send_all, args=(f"{self.stack.api_url}/complaints", bodies, ready, go, out), daemon=True
        )
        loader.start()
        if not ready.wait(60):
            raise SystemExit("bench: the load process did not start")
        go.set()
        sent = out.get(timeout=600)
        loader.join(timeout=10)
        answers = sent["answers"]
        statuses = Counter(status for status, _, _ in answers)
        latencies = sorted(elapsed for status, elapsed, _ in answers if status in (200, 202))
        complaint_ids = sorted(
            {answer["complaintId"] for status, _, answer in answers if status in (200, 202)}
        )
        by_body: dict[str, set[str]] = {}
        for body, (status, _, answer) in zip(bodies, answers, strict=True):
            if status in (200, 202):
                by_body.setdefault(json.dumps(body, sort_keys=True), set()).add(answer["complaintId"])
        self.progress(f"burst: answered {dict(statuses)}; following {len(complaint_ids)} cases")
        seen = self.follow(complaint_ids, settle)
        full_collections, gc_seconds = gc_watch.take()
        gc_watch.close()
        waiting = [t for state, t, _ in seen.values() if state == "WAITING"]
        attention = {c: reason for c, (state, _, reason) in seen.items() if state == "NEEDS_ATTENTION"}
        unsettled = {c: status for c, (state, _, status) in seen.items() if state == "UNSETTLED"}
        last = max(waiting) if waiting else sent["started"]
        span = last - sent["started"]
        return {
            "requests": requests,
            "duplicates_sent": duplicates,
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "cases": len(complaint_ids),
            "expected_cases": distinct,
            "bodies_with_two_ids": sum(1 for found in by_body.values() if len(found) > 1),
            "intake_p50_s": round(statistics.median(latencies), 2) if latencies else None,
            "intake_p90_s": round(latencies[int(len(latencies) * 0.9) - 1], 2) if latencies else None,
            "intake_max_s": round(latencies[-1], 2) if latencies else None,
            "at_investigator": len(waiting),
            "related_to_an_open_case": sum(1 for state, _, _ in seen.values() if state == "RELATED"),
            "needs_attention": len(attention),
            "attention_reasons": dict(Counter(attention.values())),
            "not_settled": len(unsettled),
            "not_settled_statuses": dict(Counter(unsettled.values())),
            "not_settled_ids": sorted(unsettled)[:5],
            "first_post_to_last_wait_s": round(span, 1),
            "sustained_per_s": round(len(waiting) / span, 2) if span > 0 else None,
            "full_collections": full_collections,
            "full_collections_s": round(gc_seconds, 1),
        }


def run(
    history: int, requests: int, duplicates: int, progress: Progress, settle: float = 600
) -> dict[str, Any]:
    bench = BurstBench(progress)
    try:
        bench.make_models()
        seeded = bench.seed(history)
        result = bench.burst(requests, duplicates, settle)
    finally:
        bench.close()
    return {"history": seeded, **result}
