"""The printed table.

Over 400 lines: the one report prints every bench section."""

from __future__ import annotations

from typing import Any


def _calls(counts: dict[str, int]) -> str:
    return ", ".join(f"{op} ×{n}" for op, n in counts.items()) or "none"


def _gc(phase: dict[str, Any]) -> str:
    sides = phase["full_collections"]
    return ", ".join(f"{side} {sides[side]['count']} ({sides[side]['ms']:.0f} ms)" for side in sides)


def _load(values: list[float] | None) -> str:
    return "/".join(f"{value:.2f}" for value in values) if values else "n/a"


def header(facts: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{name} {version}" for name, version in facts["packages"].items())
    return [
        f"Complaints benchmark — {facts['date']}",
        f"  python   {facts['python']} ({facts['python_executable']})",
        f"  machine  {facts['cpu_count']} CPUs ({facts['cpu_usable']} usable), {facts['cpu_model']}, "
        f"{facts['platform']}",
        f"  versions {packages}",
        f"  commit   {facts['git_commit']}",
        f"  load     1/5/15-min load average {_load(facts.get('load_average_at_start'))} at start, "
        f"{_load(facts.get('load_average_at_end'))} at end (other processes share these CPUs)",
    ]


def imports_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"(a) Cold import in a fresh interpreter: median of {result['repetitions']} (min–max), "
        "interpreter start-up excluded,",
        "    .pyc caches warm, the function's template.yaml environment and Lambda's own variables,",
        "    GetSecretValue served locally",
        f"  {'module':<38}{'median s':>10}  {'min–max s':<15}{'× boto3':>8}{'CPU s':>9}{'× boto3':>8}",
    ]
    for row in result["rows"]:
        spread = f"{row['min_s']:.3f}–{row['max_s']:.3f}"
        cpu = f"{row['cpu_median_s']:>9.3f}{row['cpu_ratio_to_boto3']:>8.2f}" if "cpu_median_s" in row else ""
        lines.append(
            f"  {row['module']:<38}{row['median_s']:>10.3f}  {spread:<15}{row['ratio_to_boto3']:>8.2f}{cpu}"
        )
    return lines


def _phase_rows(name: str, phase: dict[str, Any]) -> list[str]:
    rows = []
    for label, key in (("handler", "handler"), ("bare AWS calls", "bare")):
        s = phase[key]
        first = name if key == "handler" else ""
        rows.append(
            f"  {first:<10}{label:<16}{s['req_per_s']:>8.1f}{s['median_ms']:>11.2f}"
            f"{s['p90_ms']:>9.2f}{s['aws_calls_per_request']:>11.2f}"
        )
    own = phase["handler_outside_aws_calls"]
    rows.append(f"  {'':<10}{'handler own code':<16}{'':>8}{own['median_ms']:>11.2f}{own['p90_ms']:>9.2f}")
    rows.append(
        f"  {'':<10}{'handler ÷ bare':<16}{phase['ratio_mean']:>8.2f}{phase['ratio_median']:>11.2f}"
        f"{phase['handler']['p90_ms'] / phase['bare']['p90_ms']:>9.2f}"
    )
    rows.append(
        f"  {'':<10}{'handler − bare':<16}{'':>8}"
        f"{phase['handler']['median_ms'] - phase['bare']['median_ms']:>+11.2f}"
        f"{phase['handler']['p90_ms'] - phase['bare']['p90_ms']:>+9.2f}"
        f"   (mean {phase['handler']['mean_ms'] - phase['bare']['mean_ms']:+.2f} ms)"
    )
    return rows


def intake_table(result: dict[str, Any]) -> list[str]:
    iso, wf = result["isolated"], result["workflow"]
    check = result["verification"]
    lines = [
        "",
        "(b) POST /complaints: IntakeApiFunction handler invoked in-process vs the bare AWS calls it makes,",
        "    one sequential client against the embedded moto endpoint (moto runs in this process too)",
        "  AWS calls of one warm-up request, counted by a botocore before-call hook on this thread:",
        "    handler: " + ", ".join(check["handler_calls_described"]),
        "    bare:    " + ", ".join(check["bare_ops_one_request"]),
        "             (the handler's captured parameters replayed with a fresh complaint id and claim key)",
        f"  embedded stack start {result['stack_startup_s']:.2f} s; first invoke (in-process cold start) "
        f"{1000 * result['handler_cold_start_in_process_s']:.0f} ms, not in the figures below",
        "",
        f"  {'phase':<10}{'':<16}{'req/s':>8}{'median ms':>11}{'p90 ms':>9}{'calls/req':>11}",
        *_phase_rows("isolated", iso),
        *_phase_rows("workflow", wf),
        "  req/s = requests ÷ time spent in them. 'handler own code' = handler time minus the time inside",
        "  its boto3 calls (provide-client-params to after-call hook, so boto3's serialization counts as",
        "  AWS time, as in the bare row). In the ÷ and − rows the req/s column holds the ratio of means.",
        "",
        f"  isolated: {iso['requests']} handler + {iso['requests']} bare requests in alternating half-blocks "
        f"of {iso['block']};",
        "    moto's state machine execution is OFF (StartExecution only records it): no workflow competes",
        "    for the CPU.",
        f"    Background AWS calls in the phase: {_calls(iso['background_aws_calls'])}",
        f"  workflow: {wf['requests']} + {wf['requests']} requests the same way with execution ON, as under "
        "`make run`: each",
        "    StartExecution runs the state machine in a moto thread that invokes the Acknowledge, Triage,",
        "    SpikeWatch and Investigation handlers while the next requests of the half-block are measured;",
        "    both rows include that competition for the CPU and the GIL. Before each half-block (untimed)",
        "    every execution runs on to the investigator's wait and is stopped there.",
        f"    Background AWS calls in the phase: {_calls(wf['background_aws_calls'])}",
        f"    {wf['executions_succeeded']}/{wf['executions_started']} executions reached the investigator's "
        "wait (then stopped), "
        f"{wf['executions_failed_total']} failed; {wf['acknowledge_invocations']} Acknowledge invocations "
        f"({wf['acknowledge_cold_starts']} Acknowledge cold starts in the whole run).",
        "  The table is emptied (untimed) before each half-block: moto's TransactWriteItems deep-copies the",
        "  whole table for each item it writes, so its cost grows with the table (DynamoDB's does not).",
        f"  Largest table at the end of a half-block: {iso['largest_table_items']} items (isolated), "
        f"{wf['largest_table_items']} (workflow).",
        "  Before each half-block the heap is also gc.collect()ed and gc.freeze()d (untimed), so full",
        "  collections don't rescan moto's growing state; those that still ran inside the timed requests:",
        f"    isolated: {_gc(iso)}; workflow: {_gc(wf)}.",
    ]
    odd = iso["handler"]["requests_with_other_calls"] + wf["handler"]["requests_with_other_calls"]
    if odd:
        lines.append(f"  NOTE: {odd} handler requests made other AWS calls than the expected three")
    raced = sum(phase["bare_calls_that_lost_a_race_with_the_reconciler"] for phase in (iso, wf))
    if raced:
        lines.append(
            f"  NOTE: {raced} bare calls failed as the handler's would when the reconciler started the case "
            "first (tolerated)"
        )
    return lines


def _wrap(label: str, parts: list[str], width: int = 104) -> list[str]:
    """`label` then the parts joined by ", ", continued under the first part when the line is full."""
    lines, line = [], label
    for i, part in enumerate(parts):
        text = part + ("," if i < len(parts) - 1 else "")
        if line.strip() and len(line) + 1 + len(text) > width and line != label:
            lines.append(line)
            line = " " * len(label)
        line += ("" if line.endswith(" ") else " ") + text
    lines.append(line)
    return lines


def _triage_timing(result: dict[str, Any]) -> list[str]:
    timing, cold = result["handler_time"], result["cold_start_s"]
    handlers = timing["handlers"]
    lines = [
        "",
        "(c) Triage: TriageFunction then SpikeWatchFunction invoked in-process, one complaint at a time, on",
        "    RECEIVED cases created with DynamoCaseRepository.create; a second embedded stack "
        "(moto reset first)",
        f"  first invokes (in-process cold starts) {1000 * cold['TriageFunction']:.0f} ms and "
        f"{1000 * cold['SpikeWatchFunction']:.0f} ms, not in the figures below",
        "",
        f"  {'handler':<22}{'median ms':>10}{'p90 ms':>9}{'in AWS calls ms':>17}{'calls/inv':>11}",
    ]
    for name, row in handlers.items():
        lines.append(
            f"  {name:<22}{row['median_ms']:>10.2f}{row['p90_ms']:>9.2f}"
            f"{row['in_aws_calls']['median_ms']:>17.2f}{row['aws_calls_per_invocation']:>11.2f}"
        )
    lines.append("  AWS calls per invocation, counted by a botocore before-call hook on this thread:")
    for name, row in handlers.items():
        lines += _wrap(f"    {name + ':':<20}", row["calls_described"])
    odd = sum(row["invocations_with_other_calls"] for row in handlers.values())
    if odd:
        lines.append(f"  NOTE: {odd} invocations made other calls than these")
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in timing["triage_outcomes"].items())
    pauses = timing["full_collections"]
    lines += [
        f"  {timing['complaints']} complaints in blocks of {timing['block']}. Before each block, untimed: "
        "table emptied, roster counters put",
        "    back, the block's cases created, heap collected and frozen (largest table "
        f"{timing['largest_table_items']} items).",
        f"    Outcomes: {outcomes}; {timing['spike_alerts']} spike alerts. 'in AWS calls' = inside boto3 "
        "(provide-client-params",
        f"    to after-call). Full collections in the timed invocations: {pauses['count']} "
        f"({pauses['ms']:.0f} ms); background AWS calls: {_calls(timing['background_aws_calls'])}.",
    ]
    return lines


def _per_query_ms(size: dict[str, Any]) -> float:
    queries = [row for row in size["reads"].values() if row["op"] == "dynamodb.Query"]
    return 1000 * sum(row["seconds"] for row in queries) / sum(row["calls"] for row in queries)


def _triage_scale(scale: dict[str, Any]) -> list[str]:
    sizes = scale["sizes"]
    first, last = sizes[0], sizes[-1]
    heads = "".join(f"{size['complaints']:>12,}" for size in sizes)
    lines = [
        "",
        f"  Reads against table size: {scale['fresh_per_size']} fresh complaints triaged and spike-watched "
        "at each size. Items read",
        "  for them all (Query: ScannedCount; GetItem, BatchGetItem: items in the response), by an "
        "after-call hook:",
        f"  {'read (complaints in the table →)':<50}{'calls':>6}{heads}{'ratio':>8}",
    ]
    for what, row in first["reads"].items():
        op = row["op"].removeprefix("dynamodb.")
        keys = f", {row['keys'] // row['calls']} keys" if op == "BatchGetItem" else ""
        keys += ", both handlers" if what == "case + timeline" else ""
        values = [size["reads"].get(what, {}).get("scanned", 0) for size in sizes]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        cells = "".join(f"{value:>12,}" for value in values)
        lines.append(f"  {f'{what} ({op}{keys})':<50}{row['calls']:>6}{cells}{ratio:>8.2f}")
    totals = (
        ("items read, all reads", "items_read", scale["items_read_ratio"]),
        ("items in the table", "table_items", scale["table_items_ratio"]),
    )
    for label, key, ratio in totals:
        cells = "".join(f"{size[key]:>12,}" for size in sizes)
        lines.append(f"  {label:<56}{cells}{ratio:>8.2f}")
    rows = (
        ("Triage handler ms (median)", lambda size: size["triage_ms"]["median_ms"]),
        ("SpikeWatch handler ms (median)", lambda size: size["spike_ms"]["median_ms"]),
        ("  in read calls, ms per complaint (median)", lambda size: size["in_reads_ms_median"]),
        ("  in write calls, ms per complaint (median)", lambda size: size["in_writes_ms_median"]),
        ("  moto's time per Query, ms (mean)", _per_query_ms),
        ("one whole-table deep copy in moto, ms", lambda size: 1000 * size["full_table_copy_s"]),
    )
    for label, value in rows:
        values = [value(size) for size in sizes]
        cells = "".join(f"{v:>12.0f}" for v in values)
        lines.append(f"  {label:<56}{cells}{values[-1] / values[0]:>8.2f}")
    exact = all(size["items_read"] == size["items_returned"] for size in sizes)
    background = [size for size in sizes if size["background_aws_calls"]]
    unusual = [
        complaint
        for size in sizes
        for complaint in size["complaints_triaged"]
        if complaint["outcome"] != "TRIAGED" or complaint["alerted"]
    ]
    loads = [
        f"{size['items_loaded']:,} items by {size['load_method']} in {size['load_s']:.1f} s "
        f"({1000 * size['load_s'] / size['items_loaded']:.2f} ms an item)"
        for size in sizes
    ]
    lines += [
        f"  ITEMS READ: {first['items_read']} at {first['complaints']:,} complaints, {last['items_read']} at "
        f"{last['complaints']:,}: ratio {scale['items_read_ratio']:.2f}, for a table "
        f"{scale['table_items_ratio']:.1f} times larger.",
        "  "
        + (
            "Count = ScannedCount in every Query (no filters); every key asked for was found."
            if exact
            else "NOTE: a Query's Count differs from its ScannedCount, or a key asked for was not found."
        ),
        *(
            f"  NOTE: {len(unusual)} fresh complaints were not plainly TRIAGED or raised a spike alert"
            for _ in unusual[:1]
        ),
        *(
            f"  NOTE: background AWS calls at {size['complaints']:,}: {_calls(size['background_aws_calls'])}"
            for size in background
        ),
        f"  The load: complaints arriving {scale['arrivals_per_hour']} an hour before the current hour, "
        "newest first (the smaller",
        f"    table is the newest part of the larger); {scale['complaints_per_customer']} per customer; "
        "every category's hour counters; every",
        "    investigator's counter. The fresh complaints are customers' 5th, in the current hour.",
        *_wrap("    Loaded:", loads),
        "    (backend put_item: DynamoDBBackend.put_item, what moto's BatchWriteItem handler does per item)",
        "  Handler time grows in moto, not in DynamoDB: moto answers every Query by walking all the table's",
        "    items and, as shipped, backs the whole table up (one deep copy, last row) per item of a",
        "    TransactWriteItems; here that backup "
        + (
            "was moto's own (--triage-full-copies)."
            if scale["transaction_backups"].startswith("moto's")
            else "copied only the partitions written (infra/moto_hooks.py)."
        ),
    ]
    return lines


def triage_table(result: dict[str, Any]) -> list[str]:
    return _triage_timing(result) + _triage_scale(result["table_size"])


def paths_table(result: dict[str, Any]) -> list[str]:
    rows = result["paths"]
    lines = [
        "",
        "(d) Cost per complaint path: the embedded stack driven over HTTP as users do (form posts to the",
        f"    task links read from the local mailbox), TIME_SCALE {result['paths_time_scale']:g}, after one "
        "warm-up complaint (cold starts excluded)",
        "  MEASURED per complaint: state transitions (StateEntered events in the execution history), Lambda",
        "  requests (FunctionRuntime.invocations; the scheduled reconciler excluded), DynamoDB calls and SES",
        "  sends (botocore before-call hook inside handler invocations), handler wall time in this process.",
        "",
        f"  {'path':<62}{'transitions':>12}{'Lambda':>8}{'DynamoDB':>10}{'emails':>8}{'handler s':>11}",
    ]
    for row in rows:
        label = f"({row['path']}) {row['label']}"
        lines.append(
            f"  {label:<62}{row['state_transitions']:>12}{row['lambda_invocations']:>8}"
            f"{row['dynamodb_calls']:>10}{row['emails']:>8}{row['lambda_handler_s']:>11.2f}"
        )
    lines += [
        "",
        f"  PRICED: USD per 1,000 complaints, list prices {result['prices_as_of']}:",
        "    Step Functions Standard $0.025/1,000 transitions; Lambda $0.20/1M requests + arm64 "
        "$0.0000133334/GB-s at 512 MB",
        "    on the handler time measured here (moto answers their calls, not AWS: indicative only);",
        "    DynamoDB on-demand $0.625/1M WRU, $0.125/1M RRU; SES $0.10/1,000 emails.",
        "    Request units are ESTIMATED from the calls: items ≤ 1 KB, 1 unit per item (2 in transactions,",
        "    0.5 RRU for an eventually consistent read), 1 read per Query (a lower bound). Not priced: API",
        "    Gateway, CloudWatch logs/metrics, Secrets Manager, data transfer, free tiers.",
        f"  {'path':<6}{'Step Fn':>9}{'Lambda req':>12}{'Lambda GB-s':>13}{'DynamoDB':>10}{'(RRU/WRU)':>14}"
        f"{'SES':>8}{'total':>9}",
    ]
    for row in rows:
        cost = row["cost_per_1000_usd"]
        units = f"{row['dynamodb_read_units']:g}/{row['dynamodb_write_units']:g}"
        lines.append(
            f"  ({row['path']})  {cost['step_functions']:>9.4f}{cost['lambda_requests']:>12.4f}"
            f"{cost['lambda_duration']:>13.4f}{cost['dynamodb']:>10.4f}{units:>14}{cost['ses']:>8.4f}"
            f"{cost['total']:>9.4f}"
        )
    lines.append("  DynamoDB calls by operation:")
    for row in rows:
        ops = {op.removeprefix("dynamodb."): n for op, n in row["dynamodb_ops"].items()}
        lines += _wrap(f"    ({row['path']})", [f"{op} ×{n}" for op, n in ops.items()])
    odd = [row["path"] for row in rows if row["status"] != "SUCCEEDED"]
    if odd:
        lines.append(f"  NOTE: path(s) {', '.join(odd)} did not end SUCCEEDED")
    lines += [
        "",
        "  Waiting costs nothing: path (1) with the customer never answering (the 7-day wait runs out), on",
        "  two fresh stacks whose TIME_SCALE makes those 7 days last ~1 s and ~10 s; the investigator",
        "  answers as soon as the email arrives (mailbox polled every 0.1 s):",
        f"  {'TIME_SCALE':>10}{'7 days real s':>15}{'measured wait s':>17}{'transitions':>13}"
        f"{'reminders':>11}{'investigator had s':>20}",
    ]
    for wait in result["waits"]:
        had = wait["investigator_clocks"].get("reminderSeconds", "?")
        lines.append(
            f"  {wait['time_scale']:>10g}{wait['customer_wait_expected_real_s']:>15.1f}"
            f"{wait['customer_wait_real_s']:>17.2f}{wait['state_transitions']:>13}"
            f"{wait['investigator_reminders']:>11}{had!s:>8} (answered in "
            f"{wait['investigator_answered_in_s']:.2f})"
        )
    counts = {wait["state_transitions"] for wait in result["waits"]}
    same = [wait["states_entered"] for wait in result["waits"]]
    verdict = "identical" if len(counts) == 1 and all(s == same[0] for s in same) else "DIFFERENT"
    lines += [
        f"  Transitions {verdict} (same states entered, in the same order) for a ~10× longer wait: a",
        "  waitForTaskToken wait (and its timeout) is one transition whatever it lasts.",
        "  The measured wait runs from the customer's email being seen to the execution's end.",
    ]
    return lines


def _ratio(first: float, last: float) -> str:
    return f"{last / first:.2f}" if first else "n/a"


def _ops_checks(result: dict[str, Any]) -> list[str]:
    """Whether every call read and returned what the seeded complaints say, and DynamoDB agreed."""
    sizes = result["sizes"]
    rows = [(size, name, row) for size in sizes for name, row in size["queries"].items()]
    wrong = [
        f"    NOTE: at {size['complaints']:,}, {name} read {row['items_read']} (expected "
        f"{row['should_read']}), returned {row['returned']} (expected {row.get('should_return', '-')})"
        for size, name, row in rows
        if row["items_read"] != row["should_read"]
        or row.get("should_return", row["returned"]) != row["returned"]
    ]
    dynamo = all(
        row["items_read"] == row["dynamodb_count"] == row["dynamodb_scanned_count"] for *_, row in rows
    )
    reports = all(
        row["received"] == row["received_expected"] and row["closed"] == row["closed_expected"]
        for _, name, row in rows
        if name.startswith("report")
    )
    return [
        "  "
        + (
            "Every call read exactly what its answer needs (counted from the seeded complaints),"
            if not wrong
            else "NOTE: some calls read or returned other than the seeded complaints say they should:"
        ),
        *wrong,
        "  "
        + (
            "DynamoDB's Count = ScannedCount = OpsQueries.items_read in every call,"
            if dynamo
            else "NOTE: DynamoDB's Count or ScannedCount differs from OpsQueries.items_read in some call,"
        ),
        "  "
        + (
            "and the reports' received and closed figures are the seeded complaints'."
            if reports
            else "NOTE: a report's received or closed figure is not the seeded complaints'."
        ),
    ]


def ops_table(result: dict[str, Any]) -> list[str]:
    sizes = result["sizes"]
    first, last = sizes[0], sizes[-1]
    n = len(sizes)
    heads = "".join(f"{size['complaints']:>8,}" for size in sizes)
    limit = result["queue_limit"]
    lines = [
        "",
        "(e) Ops reads against table size: complaints.adapters.ops (what the ops console and the CLI",
        "    read), one call of each on an in-process moto table (mock_aws) from template.yaml. Complaints",
        f"    arrive at 1,000 per {result['days']} days: the smaller table holds the last "
        f"{result['days']} days, the larger adds",
        "    the history before them (same mix). The open work and the recent days are the same in both.",
        "    Items read: OpsQueries.items_read of the call, checked against DynamoDB's Count and",
        "    ScannedCount summed over its Query calls (botocore after-call hook).",
        "",
        f"  {'':<33}{'':>7}{'items read':^{8 * n + 7}}{'returned':^{8 * n}}{'':>7}"
        f"{'ms (moto)':^{8 * n}}".rstrip(),
        f"  {'query (complaints in table →)':<33}{'Queries':>7}{heads}{'ratio':>7}{heads}{'bound':>7}{heads}",
    ]
    for name, row in first["queries"].items():
        rows = [size["queries"][name] for size in sizes]
        reads = "".join(f"{r['items_read']:>8,}" for r in rows)
        returned = "".join(f"{r['returned']:>8,}" for r in rows)
        times = "".join(f"{r['median_ms']:>8.0f}" for r in rows)
        calls = sum(row["calls"].values())
        ratio = _ratio(row["items_read"], rows[-1]["items_read"])
        lines.append(f"  {name:<33}{calls:>7}{reads}{ratio:>7}{returned}{row['bound']:>7,}{times}")
    facts = (
        ("items in the table", lambda size: size["table_items"]["total"]),
        ("open cases (in the work queues)", lambda size: size["expected"]["open_cases"]),
        ("  of them overdue", lambda size: size["expected"]["overdue"]),
        ("  of them waiting for an approver", lambda size: size["expected"]["pending_approvals"]),
    )
    for label, value in facts:
        values = [value(size) for size in sizes]
        cells = "".join(f"{v:>8,}" for v in values)
        lines.append(f"  {label:<40}{cells}{_ratio(values[0], values[-1]):>7}")
    lines += _ops_checks(result)

    def reads(name: str) -> str:
        return " → ".join(f"{size['queries'][name]['items_read']:,}" for size in sizes)

    for name, row in first["queries"].items():
        if name.startswith("report"):
            lines.append(
                f"  {name}: a counter item a day and shard, at most {row['bound_means']}: {reads(name)}."
            )
    queue = next(name for name in first["queries"] if name.startswith("queue, all departments"))
    departments = result["departments"]

    def department_total(size: dict, department: str) -> int:
        return sum(n for key, n in size["expected"]["queues"].items() if key.startswith(f"{department}/"))

    full = ", ".join(
        f"{sum(1 for d in departments if department_total(size, d) >= limit)} of {len(departments)} at "
        f"{size['complaints']:,}"
        for size in sizes
    )
    returned = last["queries"][queue]["returned"]
    lines += [
        f"  {queue}: per department, a Query per priority, most urgent first, with Limit = what the",
        f"    department still lacks of {limit}: at most {first['queries'][queue]['bound']:,} read "
        f"(departments holding {limit} or more open cases: {full}):",
        f"    {reads(queue)}; it returns what it reads ({returned:,} at {last['complaints']:,}).",
    ]
    overdue = "queue, overdue, all departments"
    lines += [
        f"  {overdue}: the overdue key range of each priority (gsi3sk BETWEEN <p># AND <p>#<now>),",
        f"    at most {limit} a department: overdue cases and no other ({reads(overdue)}).",
        *(
            f"  NOTE: at {size['complaints']:,}, {size['queries'][overdue]['overdue_missed']} overdue cases "
            "lie outside the overdue key range (gsi3sk BETWEEN <p># AND <p>#<now>)."
            for size in sizes
            if size["queries"][overdue]["overdue_missed"]
        ),
    ]
    for name, row in first["queries"].items():
        if name.startswith("report") or name in (queue, overdue):
            continue
        waiting = last["queries"][name].get("open_cases", last["queries"][name].get("pending_approvals"))
        lines.append(
            f"  {name}: the shorter of what waits and the limit, {row['bound']}: {reads(name)} "
            f"({waiting:,} wait at {last['complaints']:,})."
        )
    lines.append("  Loaded directly with the workflow's key layout (not through the workflow):")
    for size in sizes:
        load = size["load"]
        lines.append(
            f"    {load['items_loaded']:>7,} complaints by {load['load_method']} in {load['load_s']:.1f} s; "
            f"{load['counter_items_written']} counter items by {load['counters_method']}"
        )
    lines += [
        "  ms: "
        + (
            f"median of {result['repeats'] + 1} calls."
            if result["repeats"]
            else "one call (--ops-repeats: a median)."
        )
        + " moto walks the whole table for each Query and sorts",
        "    the index partition; DynamoDB reads the key range: these times grow with the table on moto "
        "only.",
    ]
    return lines


def burst_table(result: dict[str, Any]) -> list[str]:
    history = result["history"]
    answers = ", ".join(f"{status} ×{n}" for status, n in result["answers"].items())
    lines = [
        "",
        f"(f) A burst on a full table: {result['requests']} POST /complaints at once "
        f"({result['duplicates_sent']} repeating another), over HTTP from another process,",
        f"    on the embedded stack holding {history['complaints']:,} complaints of history "
        f"({history['items']:,} items)",
        f"  answers            {answers}; {result['cases']} cases for {result['expected_cases']} distinct "
        f"complaints ({result['bodies_with_two_ids']} complaint(s) with two ids)",
        f"  intake latency     p50 {result['intake_p50_s']} s, p90 {result['intake_p90_s']} s, "
        f"max {result['intake_max_s']} s",
        f"  at the investigator {result['at_investigator']}, related to an open case "
        f"{result['related_to_an_open_case']}, NEEDS_ATTENTION {result['needs_attention']} "
        f"{result['attention_reasons'] or ''}, neither {result['not_settled']}",
        f"  first POST to the last investigator's wait {result['first_post_to_last_wait_s']} s: "
        f"{result['sustained_per_s']} complaints/s sustained",
        f"  full garbage collections meanwhile: {result['full_collections']} "
        f"({result['full_collections_s']} s)",
    ]
    return lines


TABLES = {
    "imports": imports_table,
    "intake": intake_table,
    "triage": triage_table,
    "paths": paths_table,
    "ops": ops_table,
    "burst": burst_table,
}


def render(results: dict[str, Any]) -> str:
    lines = header(results["machine"])
    for section, table in TABLES.items():
        if section in results:
            lines += table(results[section])
    lines += ["", f"Figures written to {results['output']} (run took {results['duration_s']:.0f} s)."]
    return "\n".join(lines)
