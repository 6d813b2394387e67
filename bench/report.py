"""The printed table."""

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
        "    .pyc caches warm, the function's template.yaml environment, no endpoint needed",
        f"  {'module':<34}{'median s':>10}  {'min–max s':<15}{'× boto3':>8}",
    ]
    for row in result["rows"]:
        spread = f"{row['min_s']:.3f}–{row['max_s']:.3f}"
        lines.append(
            f"  {row['module']:<34}{row['median_s']:>10.3f}  {spread:<15}{row['ratio_to_boto3']:>8.2f}"
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
        "    StartExecution runs the state machine in a moto thread that invokes the Acknowledge handler",
        "    while the next requests of the half-block are measured; both rows include that competition for",
        "    the CPU and the GIL. Executions are drained (untimed) before each half-block.",
        f"    Background AWS calls in the phase: {_calls(wf['background_aws_calls'])}",
        f"    {wf['executions_succeeded']}/{wf['executions_started']} executions succeeded, "
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


def render(results: dict[str, Any]) -> str:
    lines = header(results["machine"])
    lines += imports_table(results["imports"])
    lines += intake_table(results["intake"])
    lines += ["", f"Figures written to {results['output']} (run took {results['duration_s']:.0f} s)."]
    return "\n".join(lines)
