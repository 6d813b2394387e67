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
A quarter of the customers have history. Then every distinct case is followed (read with the product's
DynamoCaseRepository.get, every half second) until it waits for its investigator (its investigation
link is set) or needs attention; the run fails if any case is neither after `settle` seconds.

Reported: the intake answers (status, latency p50/p90/max), the time from the first POST to the last case
at the investigator's wait, the sustained rate (cases at their investigator's wait / that time), cases
RELATED to an open case of the same customer (the product's duplicate check: they need no investigator),
cases NEEDS_ATTENTION (with their reasons), cases neither after `settle` seconds, and the full garbage
collections meanwhile."""

from __future__ import annotations

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench import fixtures
from bench.meter import GcWatch
from bench.triage import TEXTS  # several categories and departments; none near another
from complaints.adapters.dynamo.keys import QUEUE_KEYS, WATCH_KEYS
from complaints.adapters.dynamo.repositories import DynamoCaseRepository
from complaints.core import ids
from complaints.core.changes import LINK_FIELD
from complaints.core.models import Status
from complaints.triage.rules import hour_bucket
from infra.stack import EmbeddedStack

Progress = Callable[[str], None]
RATE_PER_HOUR = 40
PER_CUSTOMER = 4
OPEN_CASES = 300  # the newest history cases still open (in their queues)
LINKS = tuple(LINK_FIELD)  # a task link's kind is its own: investigate, approve, confirm
MODEL_KINDS = ("case", "event", "evidence", "claim", *LINKS)  # a complaint's own items


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


@dataclass
class Model:
    """A real complaint's items, at its investigator's wait."""

    complaint_id: str
    email: str
    items: list[dict[str, Any]]

    @property
    def case(self) -> dict[str, Any]:
        return next(item for item in self.items if item["kind"] == "case")

    @property
    def claim_key(self) -> str:
        return next(item for item in self.items if item["kind"] == "claim")["pk"].partition("#")[2]


class BurstBench:
    def __init__(self, stack: EmbeddedStack, progress: Progress):
        self.progress = progress
        self.stack = stack
        self.table_name = next(iter(self.stack.template.tables))
        self.table = boto3.resource("dynamodb").Table(self.table_name)  # the stack's endpoint, set by now
        self.cases = DynamoCaseRepository(self.table)
        self.models: list[Model] = []

    # -------------------------------------------------------- following cases
    def follow(self, complaint_ids: list[str], settle: float) -> dict[str, tuple[str, float, str]]:
        """complaint id -> (state, when seen (time.time()), detail); state: WAITING (for its investigator),
        RELATED, NEEDS_ATTENTION or UNSETTLED."""
        seen: dict[str, tuple[str, float, str]] = {}
        deadline = time.monotonic() + settle
        while len(seen) < len(complaint_ids) and time.monotonic() < deadline:
            for complaint_id in complaint_ids:
                if complaint_id in seen:
                    continue
                case, _ = self.cases.get(complaint_id)
                if case.status == Status.NEEDS_ATTENTION:
                    seen[complaint_id] = ("NEEDS_ATTENTION", time.time(), str(case.attention_reason))
                elif case.status == Status.RELATED:  # joined an open case of the same customer
                    seen[complaint_id] = ("RELATED", time.time(), str(case.related_to))
                elif case.investigation_link_id:
                    seen[complaint_id] = ("WAITING", time.time(), "")
            time.sleep(0.5)
        for complaint_id in complaint_ids:
            if complaint_id not in seen:
                case, _ = self.cases.get(complaint_id)
                seen[complaint_id] = ("UNSETTLED", time.time(), case.status.value)
        return seen

    # -------------------------------------------------------- history
    def make_models(self) -> None:
        """Real cases, followed to the investigator's wait: each one's items are a model of the history."""
        self.progress("burst: a few real complaints as models of the history")
        url = f"{self.stack.api_url}/complaints"
        accepted = []
        for n in range(len(TEXTS)):
            status, _, answer = _post(url, complaint_body(n, f"model.{n}@example.com"))
            if status != 202:
                raise SystemExit(f"bench: POST /complaints answered {status}: {answer}")
            accepted.append((answer["complaintId"], f"model.{n}@example.com"))
        seen = self.follow([c for c, _ in accepted], settle=120)
        if [seen.get(c, ("?",))[0] for c, _ in accepted] != ["WAITING"] * len(accepted):
            raise SystemExit(f"bench: the model complaints did not reach their investigator: {seen}")
        table = fixtures.scan(self.table)
        for complaint_id, email in accepted:
            items = [i for i in table if i["kind"] in MODEL_KINDS and fixtures.mentions(i, complaint_id)]
            self.models.append(Model(complaint_id, email, items))

    def _history(self, start: int, stop: int, hour0: datetime) -> list[dict[str, Any]]:
        step = timedelta(hours=1) / RATE_PER_HOUR
        out: list[dict[str, Any]] = []
        hours: Counter[tuple[str, str]] = Counter()
        for n in range(start, stop):
            model = self.models[n % len(self.models)]
            at = hour0 - (n + 1) * step
            complaint_id = f"CMP-{at:%Y%m%d}-H{n:05d}"
            email = f"history.{n // PER_CUSTOMER}@example.com"
            closed = n >= OPEN_CASES
            # The model's items, with this complaint's id, customer, time, task link and claim in them.
            names = {
                model.complaint_id: complaint_id,
                model.email: email,
                ids.customer_key(model.email): ids.customer_key(email),
                model.case["created_at"]: at.isoformat(),
                model.case["gsi2sk"]: at.isoformat(),  # the same time, as the customer index has it
                model.case["investigation_link_id"]: secrets.token_urlsafe(12),
                model.claim_key: hashlib.sha256(complaint_id.encode()).hexdigest(),
            }
            for item in fixtures.clone(model.items, names):
                if item["kind"] == "case":
                    item["updated_at"] = item["created_at"]
                    if closed:  # out of its work queue and off the ops watch list, as closing leaves it
                        item["status"] = Status.CLOSED.value
                        for key in (*QUEUE_KEYS, *WATCH_KEYS):
                            item.pop(key, None)
                    hours[(item["category"], hour_bucket(at))] += 1
                elif item["kind"] in LINKS and closed:
                    item["status"] = "DONE"
                out.append(item)
        out += [fixtures.spike_counter(category, hour, count) for (category, hour), count in hours.items()]
        return out

    def seed(self, history: int) -> dict[str, Any]:
        self.progress(f"burst: {history:,} complaints of history into the table")
        hour0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        region = self.stack.config.region
        start = time.perf_counter()
        items = 0
        for first in range(0, history, 1000):
            batch = self._history(first, min(first + 1000, history), hour0)
            fixtures.backend_put(self.table_name, region, batch)
            items += len(batch)
        return {
            "complaints": history,
            "items": items,
            "table_items": len(fixtures.backend_table(self.table_name, region).all_items()),
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
    with fixtures.embedded_stack(time_scale=1) as (stack, _):
        bench = BurstBench(stack, progress)
        bench.make_models()
        seeded = bench.seed(history)
        result = bench.burst(requests, duplicates, settle)
    return {"history": seeded, **result}
