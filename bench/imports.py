"""Cold import of each handler module in a fresh interpreter, against `import boto3` alone.

Each measurement is its own `python -c` child: the child times the import with time.perf_counter and
prints the seconds, so interpreter start-up is not counted. The child gets the function's environment
from template.yaml (infra.template.load) plus what Lambda would provide (region, dummy credentials,
the layer on PYTHONPATH), and nothing else from ours. Handlers build boto3 clients at import but call
nothing, so no endpoint is needed. Targets are measured round-robin, after one discarded warm-up
each (which also writes any missing .pyc files: the child does not inherit PYTHONDONTWRITEBYTECODE),
so these are imports with warm bytecode caches."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import template

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "functions" / "layer"
HANDLERS = (
    "functions/intake/api.py",
    "functions/intake/acknowledge.py",
    "functions/intake/reconcile.py",
    "functions/resolve/failure.py",
)
BOTO3 = "import boto3"

CHILD = """
import importlib.util, sys, time
target = sys.argv[1]
start = time.perf_counter()
if target == "boto3":
    import boto3
else:
    spec = importlib.util.spec_from_file_location("handler_module", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler_module"] = module
    spec.loader.exec_module(module)
print(repr(time.perf_counter() - start))
"""

# Passed through from our environment; everything else the child sees is set here.
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_LAMBDA_LIKE = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass
class Target:
    label: str
    argument: str  # "boto3" or the module's path
    env: dict[str, str]
    samples: list[float]


def _base_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _KEEP if key in os.environ}
    env.update(_LAMBDA_LIKE)
    env["PYTHONPATH"] = str(LAYER)
    return env


def targets() -> list[Target]:
    specs = {spec.module_file.resolve(): spec for spec in template.load().functions.values()}
    found = [Target(BOTO3, "boto3", _base_env(), [])]
    for relative in HANDLERS:
        path = (ROOT / relative).resolve()
        spec = specs.get(path)
        if spec is None:
            raise SystemExit(f"bench: no function in template.yaml has the handler {relative}")
        env = {**_base_env(), **spec.environment, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id}
        found.append(Target(relative, str(path), env, []))
    return found


def _once(target: Target) -> float:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, target.argument],
        env=target.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: importing {target.label} failed in a fresh interpreter:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def run(repetitions: int, progress: Callable[[str], None]) -> dict[str, Any]:
    found = targets()
    for target in found:
        _once(target)  # warm-up: discarded
    for round_ in range(repetitions):
        progress(f"cold imports: round {round_ + 1}/{repetitions}")
        for target in found:
            target.samples.append(_once(target))
    baseline = statistics.median(found[0].samples)
    rows = []
    for target in found:
        median = statistics.median(target.samples)
        rows.append(
            {
                "module": target.label,
                "median_s": median,
                "min_s": min(target.samples),
                "max_s": max(target.samples),
                "ratio_to_boto3": median / baseline,
                "samples_s": target.samples,
            }
        )
    return {
        "method": "fresh `python -c` per sample; time.perf_counter around the import inside the child "
        "(interpreter start-up excluded); importlib spec_from_file_location + exec_module for handlers; "
        "one discarded warm-up per target, then round-robin",
        "repetitions": repetitions,
        "rows": rows,
    }
