"""`python -m bench`: cold imports, intake throughput, triage, cost per complaint path, ops reads against
table size, a burst of complaints on a full table; a table on stdout, JSON in bench/out/."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import burst, imports, intake, machine, ops, paths, report, triage

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SECTIONS = ("imports", "intake", "triage", "paths", "ops", "burst")

# Progress goes to the terminal's stderr even while the stack's output is redirected to a file.
_console = os.fdopen(os.dup(2), "w", buffering=1)


def progress(message: str) -> None:
    print(f"  … {message}", file=_console)


@contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send fds 1 and 2 (the handlers' JSON logs and EMF metrics, moto's and werkzeug's logs) to a file.

    The handlers still format and write every log line, as in Lambda; only the destination changes."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repetitions", type=int, default=7, help="fresh interpreters per import target")
    parser.add_argument("--requests", type=int, default=200, help="isolated phase: requests each way")
    parser.add_argument("--workflow-requests", type=int, default=20, help="workflow phase: requests")
    parser.add_argument("--block", type=int, default=20, help="handler/bare alternate per block")
    parser.add_argument("--triage-complaints", type=int, default=50, help="triage: complaints timed")
    parser.add_argument("--triage-block", type=int, default=10, help="triage: complaints per block")
    parser.add_argument(
        "--triage-sizes", default="1000,20000", help="triage: table sizes in complaints, comma-separated"
    )
    parser.add_argument("--triage-fresh", type=int, default=3, help="triage: fresh complaints per size")
    parser.add_argument(
        "--triage-full-copies",
        action="store_true",
        help="triage: at every size, moto's own whole-table copy per transaction item (slow) instead of "
        "moto_hooks' copy of the partitions written",
    )
    parser.add_argument(
        "--ops-sizes", default="1000,20000", help="ops: table sizes in complaints, comma-separated"
    )
    parser.add_argument(
        "--ops-repeats",
        type=int,
        default=0,
        help="ops: extra timed calls of each query (its time is the median)",
    )
    parser.add_argument(
        "--burst-history", type=int, default=20000, help="burst: complaints of history in the table"
    )
    parser.add_argument("--burst-requests", type=int, default=200, help="burst: POST /complaints at once")
    parser.add_argument(
        "--burst-duplicates", type=int, default=50, help="burst: of those, repeats of another one"
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"which sections to run, comma-separated (default: all of {', '.join(SECTIONS)})",
    )
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        parser.error(f"unknown section(s) {', '.join(unknown) or '(none given)'}; choose from {SECTIONS}")

    OUT.mkdir(exist_ok=True)
    started = time.perf_counter()
    results: dict = {"machine": machine.facts()}
    if "imports" in sections:
        progress("cold imports: one fresh interpreter per sample")
        results["imports"] = imports.run(args.repetitions, progress)
    log = OUT / "stack.log"
    progress(f"stack and handler output goes to {log}")
    with output_to(log):
        if "intake" in sections:
            results["intake"] = intake.run(args.requests, args.workflow_requests, args.block, progress)
        if "triage" in sections:
            results["triage"] = triage.run(
                args.triage_complaints,
                args.triage_block,
                [int(size) for size in args.triage_sizes.split(",")],
                args.triage_fresh,
                args.triage_full_copies,
                progress,
            )
        if "paths" in sections:
            results["paths"] = paths.run(progress)
        if "ops" in sections:
            results["ops"] = ops.run(
                [int(size) for size in args.ops_sizes.split(",")], args.ops_repeats, progress
            )
        if "burst" in sections:
            results["burst"] = burst.run(
                args.burst_history, args.burst_requests, args.burst_duplicates, progress
            )
    results["duration_s"] = time.perf_counter() - started
    results["machine"]["load_average_at_end"] = machine.load_average()
    output = OUT / "latest.json"
    results["output"] = str(output.relative_to(ROOT))
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(report.render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
