"""(c) Triage: the TriageFunction and SpikeWatchFunction handlers, in-process, on the embedded stack.

Setup. A second EmbeddedStack on fresh ports, started after moto's process-wide state is reset (moto
keeps its backends in the process, and section (b)'s stack left its table and state machine there).
Time scale 1, so the reconciler's 5-minute timer never fires during the section. Cases are created
directly with the layer's DynamoCaseRepository.create, as tests/integration/test_triage.py does: they
are RECEIVED, carry their GSI2 (customer) keys, and no state machine execution runs in the background.
Handlers are invoked with `stack.runtimes[...].invoke({"complaintId": id})`, Triage then SpikeWatch
(the order of the state machine). Their AWS calls are seen by the bench's call meter (bench.meter) on
the functions' own sessions, registered before the handler modules are imported: each call's
operation, its time (provide-client-params..after-call) and what it read from the parsed response
(Query ScannedCount and Count, GetItem's Item, BatchGetItem's Responses and the keys it asked for).

1. Handler time per complaint: blocks of complaints. Before each block, untimed: the table is emptied
   (moto answers a Query by walking every item of the table, so its cost grows with the table;
   DynamoDB's does not), the roster counters are put back, the block's cases are created, and the heap
   is collected and gc.freeze()d, as in section (b). moto runs with the stack's hooks
   (infra/moto_hooks.py), as under `make run`.

2. Reads against table size. The table is loaded with complaints that arrived at a steady 40 an hour
   before the current hour, newest first, so the 1,000-complaint table is the newest 25 hours of the
   20,000-complaint one (the same traffic, a table that has grown 20 times). Each case item is a copy
   of a real triaged case item (from the warm-up) with its own id, times, customer, category, text and
   GSI2/GSI3 keys; customers have 4 complaints each, within 2.5 hours; every category's hour counter
   holds its 4 complaints of the hour; the roster holds every investigator's counter. The first size
   goes in with BatchWriteItem requests (boto3's batch_writer); the growth to the next goes straight
   into moto's backend (DynamoDBBackend.put_item, which moto's BatchWriteItem handler calls per item),
   about twice as fast. Fresh complaints (other customers' 5th, in the current hour) are created before
   the load, then triaged and spike-watched at each size; the after-call hook sums what their reads
   touched. Handler time grows in moto, and not in DynamoDB, for two reasons the report shows: moto
   answers a Query by walking every item of the table, and, as shipped, backs up the whole table (a deep
   copy) for each item of a TransactWriteItems: ~3 s per item at 20,000 complaints, five items per
   complaint. The stack's moto_hooks make that backup copy only the partitions the transaction writes
   (the same rollback); --triage-full-copies switches that off while these fresh complaints are handled
   (moto_hooks.full_transaction_backups()), to show moto's own.

Over 400 lines: one bench section, from its set-up to its figures."""

from __future__ import annotations

import copy
import gc
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from bench import fixtures
from bench.meter import Call, GcWatch, Meter, summary
from complaints.adapters.dynamo import keys
from complaints.adapters.dynamo.repositories import DynamoTriageRepository
from complaints.classification.taxonomy import load_taxonomy
from complaints.core import ids
from complaints.core.models import AmountIn
from complaints.core.rules import load_triage_policy
from complaints.triage.rules import hour_bucket
from infra import moto_hooks
from tests.support.cases import store_case

Progress = Callable[[str], None]
TRIAGE, SPIKES = "TriageFunction", "SpikeWatchFunction"

# Part 1: one text per complaint, in turn (several categories and departments; none near another).
TEXTS = (
    ("My withdrawal of 500 EUR has not arrived after five days.", "150.00"),
    ("The app crashes every time I open the live casino page on my phone.", None),
    ("My bet was settled as lost although my team won the match.", "40.00"),
    ("I cannot log in, my account is locked since yesterday.", None),
    ("The support agent was rude and closed my chat without answering.", None),
    ("The roulette game looks rigged, I lost fifty spins in a row.", "1200.00"),
    ("Why is my withdrawal limit so low? The terms are unfair.", None),
    ("My welcome bonus was not credited after my first deposit.", "20.00"),
)
# Part 2: the fresh complaints at each size (three categories, three departments' rosters).
FRESH_TEXTS = (
    ("The payout I requested on Monday still shows as pending in my wallet.", "300.00"),
    ("The app freezes on the loading screen since the last update.", None),
    ("My accumulator was settled wrongly: the third leg won but shows as lost.", "75.00"),
)

RATE_PER_HOUR = 40  # steady arrivals of the bulk-loaded complaints
CUSTOMER_BLOCK = 100  # consecutive complaints shared by BLOCK / PER_CUSTOMER customers
PER_CUSTOMER = 4


# ---------------------------------------------------------------- the bench


class TriageBench:
    def __init__(self, progress: Progress):
        self.progress = progress
        # This thread's calls, and the handler threads' it starts; the others' in the background.
        self.calls = Meter().this_thread()
        self.gc = GcWatch()
        self.stack: Any = None
        self.table_name = ""
        self.policy = load_triage_policy()
        self.taxonomy = load_taxonomy()
        self._n = 0
        self.table: Any = None
        self.repository: DynamoTriageRepository | None = None
        self.template: dict[str, Any] | None = None  # a real triaged case item, for the bulk load

    # -------------------------------------------------------- table
    def _reset(self, at: datetime) -> int:
        """Untimed: empty the table, put the roster counters back, collect and freeze the heap."""
        emptied = fixtures.empty(self.table)
        # Every investigator's open-cases counter, as mark_triaged leaves it.
        roster = [
            fixtures.roster_counter(
                department, person.id, 12 + n, (at - timedelta(minutes=5 * n)).isoformat()
            )
            for department, team in self.policy.roster.items()
            for n, person in enumerate(team.investigators)
        ]
        fixtures.batch_put(self.table, roster)
        gc.collect()
        gc.freeze()
        self.gc.take()
        return emptied

    def _table_items(self) -> int:
        client = self.stack.client("dynamodb")
        return int(client.describe_table(TableName=self.table_name)["Table"]["ItemCount"])

    # -------------------------------------------------------- cases
    def create_case(self, at: datetime, email: str, text: str, amount: str | None, reference: str) -> str:
        """A RECEIVED case, its RECEIVED event and its claim, as intake stores them (one transaction)."""
        self._n += 1
        complaint_id = ids.new_complaint_id(at)
        money = AmountIn(value=Decimal(amount), currency="EUR") if amount else None
        store_case(
            self.repository, complaint_id, at, email, text, references={"orderId": reference}, amount=money
        )
        return complaint_id

    def invoke(self, function: str, complaint_id: str) -> tuple[float, list[Call], dict[str, Any]]:
        runtime = self.stack.runtimes[function]
        self.calls.take()
        start = time.perf_counter()
        result = runtime.invoke({"complaintId": complaint_id})
        elapsed = time.perf_counter() - start
        return elapsed, self.calls.take(), result

    # -------------------------------------------------------- part 1: handler time
    def handler_time(self, complaints: int, block: int) -> dict[str, Any]:
        samples: dict[str, list[float]] = {TRIAGE: [], SPIKES: []}
        in_calls: dict[str, list[float]] = {TRIAGE: [], SPIKES: []}
        ops: dict[str, Counter[str]] = {TRIAGE: Counter(), SPIKES: Counter()}
        shapes: dict[str, Counter[tuple[str, ...]]] = {TRIAGE: Counter(), SPIKES: Counter()}
        outcomes: Counter[str] = Counter()
        alerts = 0
        pauses = [0, 0.0]
        largest = 0
        self.calls.take_background()
        done = 0
        while done < complaints:
            count = min(block, complaints - done)
            now = datetime.now(UTC)
            largest = max(largest, self._reset(now))
            batch = []
            for i in range(count):
                text, amount = TEXTS[(done + i) % len(TEXTS)]
                email = f"bench.triage.{self._n}@example.com"
                batch.append(self.create_case(now, email, text, amount, f"ORD-{secrets.token_hex(4)}"))
            self.gc.take()
            for complaint_id in batch:
                for function in (TRIAGE, SPIKES):
                    elapsed, calls, result = self.invoke(function, complaint_id)
                    samples[function].append(elapsed)
                    in_calls[function].append(sum(call.seconds for call in calls))
                    ops[function].update(call.op for call in calls)
                    shapes[function][tuple(f"{call.op} {call.what}".strip() for call in calls)] += 1
                    if function == TRIAGE:
                        outcomes[result["outcome"]] += 1
                    else:
                        alerts += bool(result["alerted"])
            count_gc, seconds_gc = self.gc.take()
            pauses[0] += count_gc
            pauses[1] += seconds_gc
            done += count
            self.progress(f"triage: {done}/{complaints} complaints triaged and spike-watched")
        rows = {}
        for function in (TRIAGE, SPIKES):
            row = summary(samples[function])
            row["in_aws_calls"] = summary(in_calls[function])
            row["aws_calls_per_invocation"] = sum(ops[function].values()) / len(samples[function])
            row["aws_calls"] = dict(ops[function])
            common, _ = shapes[function].most_common(1)[0]
            row["calls_described"] = list(common)
            row["invocations_with_other_calls"] = len(samples[function]) - shapes[function][common]
            rows[function] = row
        return {
            "complaints": complaints,
            "block": block,
            "largest_table_items": largest,
            "handlers": rows,
            "triage_outcomes": dict(outcomes),
            "spike_alerts": alerts,
            "background_aws_calls": self.calls.take_background(),
            "full_collections": {"count": pauses[0], "ms": round(1000 * pauses[1], 1)},
        }

    def warm_up(self) -> dict[str, float]:
        """The first invoke of each function imports its module (the in-process cold start)."""
        self.progress("triage: warming up (Triage and SpikeWatch cold starts)")
        now = datetime.now(UTC)
        self._reset(now)
        cold: dict[str, float] = {}
        for n in range(4):
            text, amount = TEXTS[n]
            complaint_id = self.create_case(now, f"bench.warm.{n}@example.com", text, amount, f"W-{n}")
            for function in (TRIAGE, SPIKES):
                elapsed, _, _ = self.invoke(function, complaint_id)
                cold.setdefault(function, elapsed)
            if self.template is None:  # the bulk load's model: a real case item after both stages
                items = fixtures.naming(self.table, complaint_id)
                self.template = next(item for item in items if item.get("kind") == "case")
        return cold

    # -------------------------------------------------------- part 2: reads against table size
    def _filler(self, start: int, stop: int, hour0: datetime) -> list[dict[str, Any]]:
        """Bulk-load items for complaints start..stop-1 (0 = the newest) and the hour counters they fill."""
        assert self.template is not None
        categories = list(self.taxonomy.categories)
        per_block = CUSTOMER_BLOCK // PER_CUSTOMER
        step = timedelta(hours=1) / RATE_PER_HOUR
        machine = next(iter(self.stack.template.state_machines.values())).name
        execution_prefix = f"arn:aws:states:{self.stack.config.region}:123456789012:execution:{machine}"
        items: list[dict[str, Any]] = []
        hours: dict[tuple[str, str], list[str]] = {}
        # Started and acknowledged long ago: off the reconciler's sparse GSI1, as mark_started leaves them.
        model = {key: value for key, value in self.template.items() if key not in ("gsi1pk", "gsi1sk")}
        model_email = model["customer"]["email"]
        for n in range(start, stop):
            at = hour0 - (n + 1) * step
            iso = at.isoformat()
            customer = (n // CUSTOMER_BLOCK) * per_block + n % per_block
            category = categories[n % len(categories)]
            department = self.taxonomy.department_for(category)
            complaint_id = f"CMP-{at:%Y%m%d}-F{n:05d}"
            email = f"customer{customer}@example.com"
            # The model's own keys, with this complaint's id and customer in them.
            names = {
                model["complaint_id"]: complaint_id,
                model_email: email,
                ids.customer_key(model_email): ids.customer_key(email),
            }
            item = fixtures.clone(model, names)
            item |= {
                "created_at": iso,
                "updated_at": iso,
                "triaged_at": iso,
                "spike_counted_at": iso,
                "acknowledged_at": iso,
                "execution_arn": f"{execution_prefix}:{complaint_id}",
                "gsi2sk": iso,
                "gsi3pk": keys.queue_partition(department),
                "category": category,
                "department": department,
                "description": f"Earlier complaint {n} about {category}: what happened, when, and "
                "what the customer expected instead.",
                "references": {"orderId": f"ORD-{n:06d}"},
            }
            items.append(item)
            hours.setdefault((category, hour_bucket(at)), []).append(complaint_id)
        expires = int((hour0 + timedelta(days=30)).timestamp())
        examples = self.policy.spikes.example_ids
        items += [
            fixtures.spike_counter(category, hour, len(found), examples=found[:examples], ttl=expires)
            for (category, hour), found in hours.items()
        ]
        return items

    def table_size(self, sizes: list[int], fresh: int, full_copies: bool) -> dict[str, Any]:
        hour0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self._reset(hour0)
        if not sizes or sizes != sorted(set(sizes)) or sizes[0] <= 0:
            raise SystemExit("bench: --triage-sizes must be increasing positive numbers of complaints")
        if len(sizes) * fresh > CUSTOMER_BLOCK // PER_CUSTOMER or fresh > len(FRESH_TEXTS):
            raise SystemExit(f"bench: at most {len(FRESH_TEXTS)} fresh complaints per size")
        # The fresh complaints of every size, created now while the table is small: each is the 5th
        # complaint of a customer of the newest block, in the current hour.
        rounds = [
            [
                self.create_case(
                    hour0 + timedelta(seconds=1 + round_ * fresh + i),
                    f"customer{round_ * fresh + i}@example.com",
                    *FRESH_TEXTS[i],
                    f"NEW-{round_}-{i}",
                )
                for i in range(fresh)
            ]
            for round_ in range(len(sizes))
        ]
        results = []
        loaded = 0
        for size, complaint_ids in zip(sizes, rounds, strict=True):
            # The first size with BatchWriteItem requests; the growth straight into moto's backend.
            method = "BatchWriteItem" if not loaded else "backend put_item"
            self.progress(f"triage: loading complaints {loaded:,}..{size - 1:,} ({method})")
            items = self._filler(loaded, size, hour0)
            if loaded:
                load_s = fixtures.backend_put(self.table_name, self.stack.config.region, items)
            else:
                load_s = fixtures.batch_put(self.table, items)
            loaded = size
            gc.collect()
            gc.freeze()
            table_items = self._table_items()
            self.progress(f"triage: {table_items:,} items; one deep copy of the table, as moto's backup")
            started = time.perf_counter()
            copy.deepcopy(fixtures.backend_table(self.table_name, self.stack.config.region))
            full_copy_s = time.perf_counter() - started
            gc.collect()
            self.gc.take()
            self.progress(f"triage: triaging and spike-watching {fresh} fresh complaints")
            backups: AbstractContextManager[None] = (
                moto_hooks.full_transaction_backups() if full_copies else nullcontext()
            )
            per_complaint = []
            self.calls.take_background()
            with backups:
                for complaint_id in complaint_ids:
                    triage_s, triage_calls, outcome = self.invoke(TRIAGE, complaint_id)
                    spike_s, spike_calls, spike = self.invoke(SPIKES, complaint_id)
                    per_complaint.append(
                        {
                            "complaint_id": complaint_id,
                            "outcome": outcome["outcome"],
                            "category": outcome["category"],
                            "priority": outcome["priority"],
                            "hour_count": spike["count"],
                            "alerted": spike["alerted"],
                            "triage_s": triage_s,
                            "spike_s": spike_s,
                            "calls": [
                                {"handler": function, **call.row()}
                                for function, calls in ((TRIAGE, triage_calls), (SPIKES, spike_calls))
                                for call in calls
                            ],
                        }
                    )
            gc_count, gc_seconds = self.gc.take()
            row = self._size_row(size, table_items, len(items), load_s, per_complaint)
            row["full_table_copy_s"] = full_copy_s
            row["load_method"] = method
            row["background_aws_calls"] = self.calls.take_background()
            row["full_collections"] = {"count": gc_count, "ms": round(1000 * gc_seconds, 1)}
            results.append(row)
        first, last = results[0], results[-1]
        return {
            "load": "the first size with BatchWriteItem requests (boto3 batch_writer), the growth to the "
            "next sizes put straight into moto's DynamoDB backend (DynamoDBBackend.put_item, what its "
            "BatchWriteItem handler calls per item)",
            "transaction_backups": "moto's full-table deep copy per item"
            if full_copies
            else "scoped to the partitions each TransactWriteItems writes",
            "arrivals_per_hour": RATE_PER_HOUR,
            "complaints_per_customer": PER_CUSTOMER,
            "fresh_per_size": fresh,
            "sizes": results,
            "items_read_ratio": last["items_read"] / first["items_read"],
            "table_items_ratio": last["table_items"] / first["table_items"],
        }

    @staticmethod
    def _size_row(
        size: int, table_items: int, loaded: int, load_s: float, per_complaint: list[dict[str, Any]]
    ) -> dict[str, Any]:
        reads: dict[str, dict[str, Any]] = {}
        read_s: list[float] = []
        write_s: list[float] = []
        for complaint in per_complaint:
            read_s.append(sum(c["seconds"] for c in complaint["calls"] if c["read"]))
            write_s.append(sum(c["seconds"] for c in complaint["calls"] if not c["read"]))
            for call in complaint["calls"]:
                if not call["read"]:
                    continue
                row = reads.setdefault(
                    call["what"],
                    {"op": call["op"], "calls": 0, "scanned": 0, "returned": 0, "keys": 0, "seconds": 0.0},
                )
                row["calls"] += 1
                for key in ("scanned", "returned", "keys", "seconds"):
                    row[key] += call[key]
        return {
            "complaints": size,
            "table_items": table_items,
            "items_loaded": loaded,
            "load_s": load_s,
            "reads": reads,
            "items_read": sum(row["scanned"] for row in reads.values()),
            "items_returned": sum(row["returned"] for row in reads.values()),
            "triage_ms": summary([c["triage_s"] for c in per_complaint]),
            "spike_ms": summary([c["spike_s"] for c in per_complaint]),
            "in_reads_ms_median": 1000 * statistics.median(read_s),
            "in_writes_ms_median": 1000 * statistics.median(write_s),
            "complaints_triaged": per_complaint,
        }

    # -------------------------------------------------------- run
    def run(
        self, complaints: int, block: int, sizes: list[int], fresh: int, full_copies: bool
    ) -> dict[str, Any]:
        self.progress("triage: starting a second embedded stack (moto state reset)")
        with fixtures.embedded_stack(1, self.calls) as (self.stack, startup):
            self.table_name = next(iter(self.stack.template.tables))
            self.table = boto3.resource("dynamodb").Table(self.table_name)  # after start(): the endpoint
            self.repository = DynamoTriageRepository(self.table)
            cold = self.warm_up()
            timing = self.handler_time(complaints, block)
            size = self.table_size(sizes, fresh, full_copies)
        self.gc.close()
        return {
            "method": "direct FunctionRuntime.invoke of TriageFunction then SpikeWatchFunction on RECEIVED "
            "cases created with DynamoCaseRepository.create; AWS calls by botocore hooks on this thread",
            "setup": "a second EmbeddedStack (moto server in-process), moto state reset before it",
            "stack_startup_s": startup,
            "cold_start_s": cold,
            "cold_starts": {f: self.stack.runtimes[f].cold_starts for f in (TRIAGE, SPIKES)},
            "handler_time": timing,
            "table_size": size,
        }


def run(
    complaints: int, block: int, sizes: list[int], fresh: int, full_copies: bool, progress: Progress
) -> dict[str, Any]:
    return TriageBench(progress).run(complaints, block, sizes, fresh, full_copies)
