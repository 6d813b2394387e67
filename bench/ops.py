"""(e) Ops reads against table size: the ops console's and the CLI's queries
(complaints.adapters.ops.OpsQueries) on one table holding 1,000 and then 20,000 complaints.

Setup. moto in-process (mock_aws, as tests/integration), template.yaml's resources created on it with
infra.stack.provision, infra/moto_hooks installed (TransactWriteItems backs up only the partitions it
writes). No handler runs: the section reads what the workflow would have left in the table.

Load. Complaints arrive at a steady rate, 1,000 per 30 days: complaint n arrives about n / RATE days
before now, so the 1,000-complaint table holds the last 30 days and the 20,000-complaint table adds the
600 days before them (a table grows by its history, as a real one does). Complaint n draws everything
else from its own seeded generator: category (hence department), priority, channel, remedy and how long
it takes to resolve (a share of its resolution target, more than all of it for some, never for a few
"stuck" ones, which ops close within STUCK_DAYS). So the open work, the overdue cases, the pending
approvals and the last 30 days' report are the same at both sizes, and the queries should read the
same: what they read grows with the answer, not with the table.

* Case items carry what the workflow leaves on them: the Case model as intake stores it
  (`model_dump`), the fields mark_triaged sets (category, priority, department, assignee, due times
  as isoformat() in the policy calendar's zone, gsi3pk = QUEUE#<department>, gsi3sk =
  <priority>#<resolution due in UTC>), findings, the approval level and GSI4 watch keys while a case waits
  for an approver (put_link's), closing times; closed cases carry no GSI3/GSI4 keys (close REMOVEs
  them). They are written directly, not through the workflow (20,000 complaints through triage would
  take most of an hour on moto): the first size with BatchWriteItem requests (boto3's batch_writer),
  the growth straight into moto's backend (DynamoDBBackend.put_item, what its BatchWriteItem handler
  does per item), as section (c) does, without moto's 400 KB check (it sums the item's size again for
  each attribute it sets: quadratic in the attributes, most of the load's time; every item is < 10 KB).
* Report counters come from the production code: stats.received (at arrival), stats.closed (at
  closing, from the Case) and stats.tally, summed per day and shard. The first size's go in as
  repository.stats_update's Update (the ADD the workflow's transactions carry) sent as UpdateItem,
  one per day and shard (ADD is additive: the same totals as one per complaint). The growth puts each
  counter item's new totals straight into the backend: moto parses an update expression at about a
  millisecond a counter name, and the growth adds ~30,000 names (one per time-to-resolve minute).
  The report's received and closed figures are checked against the seeded complaints at each size.

Measure. At each size, each query once (then `repeats` more times for its time, indicative: moto walks
the table for every Query, DynamoDB does not): the items OpsQueries counts (`items_read`), and
DynamoDB's own Count and ScannedCount of every Query it sent, summed by the call meter (bench.meter); what
the query returned; and what it should read and return, counted from the seeded complaints.

Over 400 lines: one bench section, from its set-up to its figures."""

from __future__ import annotations

import gc
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from moto import mock_aws

from bench import fixtures
from bench.meter import Meter
from complaints.adapters.dynamo import keys
from complaints.adapters.dynamo.base import dynamo_value, stats_update
from complaints.adapters.ops import OpsQueries
from complaints.classification.taxonomy import load_taxonomy
from complaints.core import ids, stats
from complaints.core.calendar import load_policy
from complaints.core.models import CHANNELS, AmountIn, Case, CustomerIn, Status
from complaints.core.rules import load_triage_policy
from complaints.core.tasks import MONEY_REMEDIES, ROOT_CAUSES
from complaints.ops.views import PRIORITIES
from infra import moto_hooks, template
from infra.stack import provision

Progress = Callable[[str], None]
REGION = "us-east-1"
DAYS = 30  # the first 1,000 complaints arrive over the 30 days before now
RATE = 1000 / DAYS  # complaints a day, at every size
STUCK_DAYS = 30  # a stuck case older than this has been closed by ops
QUEUE_LIMIT = 50  # OpsQueries.queue's default
APPROVALS_LIMIT = 100  # OpsQueries.approvals' default
DEPARTMENT = "finance"  # the one-department queue

# The mix (weights). Categories not listed weigh 1.
CATEGORY_WEIGHTS = {
    "payments": 20,
    "settlement": 12,
    "technical": 14,
    "account": 12,
    "security": 5,
    "promotions": 10,
    "fairness": 7,
    "service": 8,
    "policy": 5,
    "other": 7,
}
PRIORITY_WEIGHTS = {"P1": 5, "P2": 20, "P3": 45, "P4": 30}
REMEDY_WEIGHTS = {
    "refund": 25,
    "partial_refund": 15,
    "resettle": 10,
    "compensation": 15,
    "account_fix": 15,
    "explanation": 20,
}
AMOUNTS = ((Decimal("20"), 30), (Decimal("75"), 25), (Decimal("150"), 20), (Decimal("400"), 15))
AMOUNTS += ((Decimal("1500"), 8), (Decimal("12000"), 2))
STUCK = 0.03  # share of complaints nobody resolves (they stay open, and go overdue)
HANDLING = (0.2, 1.25)  # time to resolve, as a share of the resolution target (uniform)
CONFIRMATION_HOURS = (1, 48)  # then the customer's answer closes the case


@dataclass
class Seeded:
    """One complaint as seeded: its case item and what the checks need to know about it."""

    n: int
    complaint_id: str
    created_at: datetime
    department: str
    priority: str
    resolution_due: datetime
    closed_at: datetime | None
    approval_level: str | None  # waiting for this approver now
    item: dict[str, Any]
    tallies: list[stats.Tally]

    @property
    def open(self) -> bool:
        return self.closed_at is None


def _weighted(rng: random.Random, weights: dict[str, int] | tuple[tuple[Any, int], ...]) -> Any:
    pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


class OpsBench:
    def __init__(self, progress: Progress, repeats: int):
        self.progress = progress
        self.repeats = repeats
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.policy = load_policy()
        self.triage = load_triage_policy()
        self.taxonomy = load_taxonomy()
        self.zone = self.policy.calendar.timezone
        self.departments = sorted(self.triage.roster)
        self.complaints: list[Seeded] = []
        self.counter_keys: set[tuple[str, int]] = set()
        self.session: Any = None  # the mock's: set in run()
        self.table: Any = None
        self.state_machine_arn = ""
        self.meter = Meter().this_thread()  # DynamoDB's own figures, on this bench's session

    def _take(self) -> tuple[dict[str, int], int, int]:
        calls = [call for call in self.meter.take() if call.op.startswith("dynamodb.")]
        queries = [call for call in calls if call.op == "dynamodb.Query"]
        return (
            dict(Counter(call.op.removeprefix("dynamodb.") for call in calls)),
            sum(call.returned for call in queries),
            sum(call.scanned for call in queries),
        )

    # -------------------------------------------------------- the complaints
    def _complaint(self, n: int) -> Seeded:
        rng = random.Random(f"bench-ops-{n}")  # the same mix at every run, relative to now
        created = self.now - timedelta(days=(n + rng.random()) / RATE, seconds=60)
        category = _weighted(rng, {c: CATEGORY_WEIGHTS.get(c, 1) for c in self.taxonomy.categories})
        department = self.taxonomy.department_for(category)
        priority = _weighted(rng, PRIORITY_WEIGHTS)
        channel = rng.choice(CHANNELS)
        sla = self.policy.sla_due(created, priority)
        response_due = self.policy.response_due(created, category)
        team = self.triage.roster[department]
        investigator = team.investigators[n % len(team.investigators)]
        complaint_id = f"CMP-{created:%Y%m%d}-B{n:05d}"
        email = f"customer{n // 3}@example.com"

        remedy = _weighted(rng, REMEDY_WEIGHTS)
        amount = _weighted(rng, AMOUNTS) if remedy in MONEY_REMEDIES else None
        level = self.triage.approval.required_level(remedy, amount)
        window = sla.resolution_due - created
        stuck = rng.random() < STUCK and self.now - created < timedelta(days=STUCK_DAYS)
        resolved = None if stuck else created + window * rng.uniform(*HANDLING)
        closed = resolved + timedelta(hours=rng.uniform(*CONFIRMATION_HOURS)) if resolved else None
        if closed is not None and closed > self.now:
            closed = None
        # Where an open case is: by the share of its handling time gone (stuck: of its target).
        gone = (self.now - created) / ((resolved or created + window) - created)
        if closed is not None:
            status = Status.CLOSED
        elif resolved is not None and resolved <= self.now:
            status = Status.AWAITING_CONFIRMATION
        elif gone < 0.1:
            status = Status.TRIAGED
        elif gone < 0.6 or stuck:
            status = Status.INVESTIGATING
        else:
            status = Status.AWAITING_APPROVAL if level else Status.RESOLVING
        has_findings = status not in (Status.TRIAGED, Status.INVESTIGATING)
        acknowledged = created + timedelta(minutes=rng.uniform(1, 20))
        triaged = created + timedelta(seconds=rng.uniform(2, 30))
        case = Case(
            complaint_id=complaint_id,
            status=status,
            version=3 if status == Status.TRIAGED else 8,
            created_at=created,
            updated_at=closed or triaged,
            channel=channel,
            locale="en",
            customer=CustomerIn(email=email),
            description=f"Complaint {n} about {category}: what happened, when, and what the customer "
            "expected instead.",
            references={"orderId": f"ORD-{n:06d}"},
            amount=AmountIn(value=amount, currency="EUR") if amount else None,
            access_code_hash="0" * 64,
            response_due_at=response_due,
            category=category,
            confidence=0.8,
            evidence=[category],
            priority=priority,
            priority_score={"P1": 90, "P2": 60, "P3": 35, "P4": 10}[priority],
            department=department,
            assignee=investigator.id,
            assignee_name=investigator.name,
            first_response_due_at=sla.first_response_due,
            resolution_due_at=sla.resolution_due,
            triaged_at=triaged,
            spike_counted_at=triaged,
            acknowledged_at=acknowledged,
            execution_arn=f"arn:aws:states:{REGION}:{template.ACCOUNT}:execution:complaints:{complaint_id}",
            findings={
                "summary": "What the investigation found.",
                "remedy": remedy,
                "amount": str(amount) if amount is not None else None,
                "currency": "EUR" if amount is not None else None,
                "customerMessage": "Our answer.",
                "rootCause": rng.choice(ROOT_CAUSES),
            }
            if has_findings
            else None,
            approval_level=level if has_findings else None,
            resolution_sent_at=resolved if status in (Status.AWAITING_CONFIRMATION, Status.CLOSED) else None,
            csat_rating=rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if closed and rng.random() < 0.7 else None,
            closed_at=closed,
        )
        item = {
            "pk": keys.case_partition(complaint_id),
            "sk": keys.CASE_SK,
            "kind": "case",
            "gsi2pk": keys.customer_partition(ids.customer_key(email)),
            "gsi2sk": created.isoformat(),
            **_stored(case),
            # As mark_triaged writes them (isoformat, in the policy calendar's zone for the due times).
            "first_response_due_at": sla.first_response_due.isoformat(),
            "resolution_due_at": sla.resolution_due.isoformat(),
            "response_due_at": response_due.isoformat(),
            "triaged_at": triaged.isoformat(),
        }
        waiting = status == Status.AWAITING_APPROVAL
        if case.status != Status.CLOSED:
            item |= {
                "gsi3pk": keys.queue_partition(department),
                # As mark_triaged writes it: in UTC, compared as text with the time now.
                "gsi3sk": f"{priority}#{sla.resolution_due.astimezone(UTC).isoformat()}",
            }
        if waiting:
            asked = created + (resolved - created) * 0.6 if resolved else created
            item |= {"gsi4pk": keys.WATCH_APPROVAL, "gsi4sk": asked.isoformat()}
        tallies = [
            stats.tally(
                created,
                self.zone,
                complaint_id,
                {**stats.received(channel), **stats.triaged(category, priority)},
            )
        ]
        if closed is not None:
            tallies.append(stats.tally(closed, self.zone, complaint_id, stats.closed(case, closed, 1.0)))
        return Seeded(
            n,
            complaint_id,
            created,
            department,
            priority,
            sla.resolution_due,
            closed,
            level if waiting else None,
            item,
            tallies,
        )

    # -------------------------------------------------------- the table
    def _sum_counters(self) -> dict[tuple[str, int], Counter[str]]:
        """Every seeded complaint's report counters, summed per day and shard."""
        summed: dict[tuple[str, int], Counter[str]] = {}
        for complaint in self.complaints:
            for tally in complaint.tallies:
                summed.setdefault((tally.day, tally.shard), Counter()).update(tally.counters)
        self.counter_keys = set(summed)
        return summed

    def _counters_by_update(self) -> int:
        """The first size: one repository.stats_update per day and shard (all the complaints' counters
        of that day and shard, summed), its Update sent as UpdateItem: the ADD the workflow's
        transactions carry. Returns the updates sent."""
        client = self.table.meta.client
        summed = self._sum_counters()
        for (day, shard), counters in sorted(summed.items()):
            client.update_item(
                **stats_update(self.table.name, stats.Tally(day, shard, dict(counters)))["Update"]
            )
        return len(summed)

    def _counters_by_put(self) -> int:
        """The growth: every counter item with its new totals, as stats_update's ADDs leave it, put straight
        into moto's backend (moto parses an update expression at ~1 ms a counter name; the growth to
        20,000 complaints adds ~30,000 of them). Returns the items put."""
        items = [
            {**keys.stats_key(day, shard), "kind": "stats", "day": day, **counters}
            for (day, shard), counters in sorted(self._sum_counters().items())
        ]
        fixtures.backend_put(self.table.name, REGION, items, check_sizes=False)  # every item < 10 KB
        return len(items)

    def grow(self, size: int) -> dict[str, Any]:
        first = not self.complaints
        method = "BatchWriteItem" if first else "backend put_item"
        self.progress(f"ops: seeding complaints {len(self.complaints):,}..{size - 1:,} ({method})")
        started = time.perf_counter()
        new = [self._complaint(n) for n in range(len(self.complaints), size)]
        self.complaints += new
        build_s = time.perf_counter() - started
        with fixtures.collector_off():
            items = [c.item for c in new]
            if first:
                load_s = fixtures.batch_put(self.table, items)
            else:
                load_s = fixtures.backend_put(self.table.name, REGION, items, check_sizes=False)
            started = time.perf_counter()
            counters = self._counters_by_update() if first else self._counters_by_put()
            counters_s = time.perf_counter() - started
        gc.collect()
        self._take()
        return {
            "items_loaded": len(new),
            "load_method": method,
            "build_s": build_s,
            "load_s": load_s,
            "counter_items_written": counters,
            "counters_method": "stats_update as UpdateItem" if first else "backend put_item of the totals",
            "counters_s": counters_s,
        }

    def _table_items(self) -> dict[str, int]:
        items = list(fixtures.backend_table(self.table.name, REGION).all_items())
        kinds = Counter(item.attrs["kind"].value if "kind" in item.attrs else "?" for item in items)
        return {"total": len(items), **dict(sorted(kinds.items()))}

    # -------------------------------------------------------- the queries
    def _expected(self) -> dict[str, Any]:
        """What the queries should read and return, counted from the seeded complaints."""
        open_cases = [c for c in self.complaints if c.open]
        queues = Counter((c.department, c.priority) for c in open_cases)
        overdue = [c for c in open_cases if c.resolution_due < self.now]
        # What the overdue key range (gsi3sk BETWEEN "<p>#" AND "<p>#<now in UTC>") holds: the stored
        # key compared as text, as DynamoDB does; it should be every overdue case.
        in_range = [
            c
            for c in open_cases
            if c.item["gsi3sk"] <= f"{c.priority}#{self.now.astimezone(UTC).isoformat()}"
        ]
        waiting = [c for c in self.complaints if c.approval_level]
        return {
            "open_cases": len(open_cases),
            "queues": {f"{d}/{p}": queues[(d, p)] for d in self.departments for p in PRIORITIES},
            "overdue": len(overdue),
            "overdue_by_department": dict(Counter(c.department for c in overdue)),
            "overdue_in_key_range": len(in_range),
            "overdue_in_key_range_by_department": dict(Counter(c.department for c in in_range)),
            "pending_approvals": len(waiting),
        }

    def _report_expected(self, start: date, end: date) -> dict[str, int]:
        zone = ZoneInfo(self.zone)
        days = {(start + timedelta(days=k)).isoformat() for k in range((end - start).days + 1)}
        return {
            "counter_items": sum(1 for day, _ in self.counter_keys if day in days),
            "received": sum(
                1 for c in self.complaints if c.created_at.astimezone(zone).date().isoformat() in days
            ),
            "closed": sum(
                1
                for c in self.complaints
                if c.closed_at and c.closed_at.astimezone(zone).date().isoformat() in days
            ),
        }

    def _measure(self, queries: OpsQueries, call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        self._take()
        before = queries.items_read
        started = time.perf_counter()
        answer = call()
        first_s = time.perf_counter() - started
        items_read = queries.items_read - before
        calls, count, scanned = self._take()
        seconds = [first_s]
        for _ in range(self.repeats):
            before = queries.items_read
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
            if queries.items_read - before != items_read:
                raise SystemExit("bench: an ops query read a different number of items when repeated")
        self._take()
        return answer, {
            "items_read": items_read,
            "dynamodb_count": count,
            "dynamodb_scanned_count": scanned,
            "calls": calls,
            "median_ms": 1000 * statistics.median(seconds),
            "ms": [round(1000 * s, 2) for s in seconds],
        }

    def measure(self, size: int) -> dict[str, Any]:
        queries = OpsQueries(
            table=self.table,
            stepfunctions=self.session.client("stepfunctions"),
            state_machine_arn=self.state_machine_arn,
            departments=self.departments,
            time_scale=1.0,
            clock=lambda: self.now,
        )
        today = self.now.astimezone(ZoneInfo(self.zone)).date()
        expected = self._expected()
        queues = expected["queues"]
        rows: dict[str, dict[str, Any]] = {}

        for days in (30, 7):
            start = today - timedelta(days=days - 1)
            self.progress(f"ops: {size:,} complaints, report of the last {days} days")
            report, row = self._measure(queries, lambda start=start: queries.report(start, today))
            truth = self._report_expected(start, today)
            row |= {
                "returned": report.items_read,
                "returned_means": "counter items summed (Report.items_read)",
                "should_read": truth["counter_items"],
                "bound": days * stats.SHARDS,
                "bound_means": f"{days} days × {stats.SHARDS} shards",
                "received": report.received,
                "received_expected": truth["received"],
                "closed": report.closed,
                "closed_expected": truth["closed"],
            }
            rows[f"report, last {days} days"] = row

        def listed(name: str, call: Callable[[], list], should: int, bound: int, **facts: Any) -> None:
            """A query that lists what it reads: it should return what it should read."""
            entries, row = self._measure(queries, call)
            rows[name] = row | {"returned": len(entries), "should_read": should, "should_return": should}
            rows[name] |= {"bound": bound, **facts}

        self.progress(f"ops: {size:,} complaints, queues and approvals")
        departments = len(self.departments)
        listed(
            f"queue, all departments, limit {QUEUE_LIMIT}",
            lambda: queries.queue(limit=QUEUE_LIMIT),
            # Read priority by priority, most urgent first, until the department has QUEUE_LIMIT.
            sum(min(QUEUE_LIMIT, sum(queues[f"{d}/{p}"] for p in PRIORITIES)) for d in self.departments),
            QUEUE_LIMIT * departments,
            returned_means=f"queue entries (at most {QUEUE_LIMIT} per department)",
            bound_means=f"{QUEUE_LIMIT} × {departments} departments",
            open_cases=expected["open_cases"],
        )
        listed(
            f"queue, {DEPARTMENT} P3",
            lambda: queries.queue(department=DEPARTMENT, priority="P3"),
            min(QUEUE_LIMIT, queues[f"{DEPARTMENT}/P3"]),
            QUEUE_LIMIT,
            returned_means="queue entries",
            bound_means="the limit",
            open_cases=queues[f"{DEPARTMENT}/P3"],
        )
        listed(
            "queue, overdue, all departments",
            lambda: queries.queue(overdue=True),
            sum(min(QUEUE_LIMIT, n) for n in expected["overdue_in_key_range_by_department"].values()),
            QUEUE_LIMIT * departments,
            returned_means=f"overdue entries (at most {QUEUE_LIMIT} per department)",
            bound_means=f"{QUEUE_LIMIT} × {departments} departments: overdue cases only",
            overdue_cases=expected["overdue"],
            overdue_in_key_range=expected["overdue_in_key_range"],
            overdue_missed=expected["overdue"] - expected["overdue_in_key_range"],
        )
        listed(
            "approvals",
            queries.approvals,
            min(APPROVALS_LIMIT, expected["pending_approvals"]),
            APPROVALS_LIMIT,
            returned_means="pending approvals",
            bound_means="the limit",
            pending_approvals=expected["pending_approvals"],
        )
        return {"expected": expected, "queries": rows}

    # -------------------------------------------------------- run
    def run(self, sizes: list[int]) -> dict[str, Any]:
        if not sizes or sizes != sorted(set(sizes)) or sizes[0] <= 0:
            raise SystemExit("bench: --ops-sizes must be increasing positive numbers of complaints")
        results = []
        with _local_aws():
            moto_hooks.install()  # scoped TransactWriteItems backups
            self.session = boto3.Session(region_name=REGION)  # created inside the mock: moto answers it
            self.meter.watch(self.session)
            tpl = template.load(region=REGION)
            provision(tpl, lambda service: self.session.client(service, region_name=REGION), {})
            self.table = self.session.resource("dynamodb").Table(next(iter(tpl.tables)))
            machine = next(iter(tpl.state_machines.values())).name
            self.state_machine_arn = f"arn:aws:states:{REGION}:{template.ACCOUNT}:stateMachine:{machine}"
            for size in sizes:
                load = self.grow(size)
                table_items = self._table_items()
                self.progress(f"ops: {table_items['total']:,} items in the table; measuring")
                results.append(
                    {"complaints": size, "table_items": table_items, "load": load, **self.measure(size)}
                )
        first, last = results[0], results[-1]
        ratios = {
            name: (row["items_read"] / first["queries"][name]["items_read"])
            if first["queries"][name]["items_read"]
            else None
            for name, row in last["queries"].items()
        }
        return {
            "method": "complaints.adapters.ops.OpsQueries on an in-process moto table (mock_aws) "
            "created from template.yaml by infra.stack.provision; items read = OpsQueries.items_read, "
            "checked against DynamoDB's Count and ScannedCount by the bench's call meter (botocore hooks)",
            "load": "case items written directly with the workflow's key layout, the first size with "
            "BatchWriteItem (boto3 batch_writer), the growth into moto's backend (DynamoDBBackend.put_item); "
            "report counters from stats.received/closed/tally, summed per day and shard, the first size as "
            "repository.stats_update's ADD sent as UpdateItem, the growth as the new totals put into the "
            "backend",
            "now": self.now.isoformat(),
            "days": DAYS,
            "mix": {
                "categories": CATEGORY_WEIGHTS,
                "priorities": PRIORITY_WEIGHTS,
                "remedies": REMEDY_WEIGHTS,
                "stuck": STUCK,
                "handling_share_of_target": HANDLING,
                "confirmation_hours": CONFIRMATION_HOURS,
            },
            "departments": self.departments,
            "queue_limit": QUEUE_LIMIT,
            "approvals_limit": APPROVALS_LIMIT,
            "repeats": self.repeats,
            "sizes": results,
            "items_read_ratio": ratios,
            "table_items_ratio": last["table_items"]["total"] / first["table_items"]["total"],
        }


def _stored(case: Case) -> dict[str, Any]:
    return dynamo_value(case.model_dump(mode="json", exclude_none=True))


@contextmanager
def _local_aws() -> Iterator[None]:
    """mock_aws, with the endpoint that earlier sections' embedded stacks left in the environment out
    of the way (a client would send its requests there instead of to moto in-process)."""
    saved = {name: os.environ.pop(name, None) for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    os.environ["AWS_DEFAULT_REGION"] = REGION
    try:
        with mock_aws(config={"lambda": {"use_docker": False}}):
            yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def run(sizes: list[int], repeats: int, progress: Progress) -> dict[str, Any]:
    return OpsBench(progress, repeats).run(sizes)
