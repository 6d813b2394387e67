"""Cold import of every handler module of template.yaml in a fresh interpreter, against `import boto3` alone.

Each measurement is its own `python -c` child: the child times the import with time.perf_counter (wall)
and time.process_time (CPU) and prints the seconds, so interpreter start-up is not counted. The CPU time
is what the import itself took; other work on the machine stretches the wall time far more than it, so
on a shared machine the CPU column is the steadier comparison (on an idle one the two agree).
The child gets the function's environment from template.yaml (infra.template.load) plus what Lambda
would provide (region, dummy credentials, LAMBDA_TASK_ROOT and _HANDLER, AWS_EXECUTION_ENV, the layer on
PYTHONPATH), and nothing else from ours.
LAMBDA_TASK_ROOT matters: without it the X-Ray SDK believes it runs outside Lambda and builds two
botocore X-Ray clients for centralised sampling at import (about 0.15 s, as long as import boto3), which
it never does in Lambda (it also touches /tmp/.aws-xray/initialized, as in Lambda). Tracing stays off
(POWERTOOLS_TRACE_DISABLED): with Tracing: Active, Lambda would also patch boto3 and friends at import.
Handlers build boto3 clients at import and call nothing, except the four that read the link-signing key
from Secrets Manager once per cold start (acknowledge, investigation, remedy, links): their GetSecretValue
goes to a local endpoint the bench serves (AWS_ENDPOINT_URL_SECRETS_MANAGER), so their time includes one real
botocore call without the network.
The floor row is what every handler does before its own code: a DynamoDB Table resource and one more
client built (SES here; some handlers build Step Functions' instead), Powertools' Logger, Tracer and
Metrics made, pydantic's BaseModel imported.
Targets are measured round-robin, after one discarded warm-up each (which also writes any missing .pyc
files: the child does not inherit PYTHONDONTWRITEBYTECODE), so these are imports with warm bytecode
caches."""

from __future__ import annotations

import ast
import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra import template

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "functions" / "layer"
BOTO3 = "import boto3"
FLOOR = "floor: clients, Powertools, pydantic"

CHILD = """
import importlib.util, sys, time
target = sys.argv[1]
start, cpu = time.perf_counter(), time.process_time()
if target == "boto3":
    import boto3
elif target == "floor":  # what every handler does before its own code
    import boto3
    boto3.resource("dynamodb").Table("bench")
    boto3.client("sesv2")
    from aws_lambda_powertools import Logger, Metrics, Tracer
    Logger(); Tracer(); Metrics()
    from pydantic import BaseModel
else:
    spec = importlib.util.spec_from_file_location("handler_module", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler_module"] = module
    spec.loader.exec_module(module)
print(repr((time.perf_counter() - start, time.process_time() - cpu)))
"""

# Passed through from our environment; everything else the child sees is set here.
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_LAMBDA_LIKE = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",  # template.yaml's Runtime
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass
class Target:
    label: str
    argument: str  # "boto3" or the module's path
    env: dict[str, str]
    samples: list[float]
    cpu_samples: list[float]


class _SecretsManager(BaseHTTPRequestHandler):
    """Answers every call as GetSecretValue with a fixed key: all a handler asks at import."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"ARN": "bench", "Name": "bench", "SecretString": "bench-signing-key"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def secrets_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SecretsManager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _base_env(secrets_url: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in _KEEP if key in os.environ}
    env.update(_LAMBDA_LIKE)
    env["PYTHONPATH"] = str(LAYER)
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = secrets_url
    return env


def targets(secrets_url: str) -> list[Target]:
    """`import boto3`; the floor (a DynamoDB Table resource and an SES client built, Powertools' Logger,
    Tracer and Metrics made, pydantic's BaseModel imported: what every handler does before its own code);
    then every function of template.yaml, by handler path."""
    lambda_like = {**_base_env(secrets_url), "LAMBDA_TASK_ROOT": str(ROOT / "functions")}
    found = [
        Target(BOTO3, "boto3", _base_env(secrets_url), [], []),
        Target(FLOOR, "floor", lambda_like, [], []),
    ]
    specs = sorted(template.load().functions.values(), key=lambda spec: str(spec.module_file))
    for spec in specs:
        path = spec.module_file.resolve()
        env = {
            **_base_env(secrets_url),
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
        }
        found.append(Target(str(path.relative_to(ROOT)), str(path), env, [], []))
    return found


def _once(target: Target) -> tuple[float, float]:
    """Wall and CPU seconds of one import in a fresh interpreter."""
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
    wall, cpu = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu)


def run(repetitions: int, progress: Callable[[str], None]) -> dict[str, Any]:
    with secrets_endpoint() as secrets_url:
        found = targets(secrets_url)
        for target in found:
            _once(target)  # warm-up: discarded
        for round_ in range(repetitions):
            progress(f"cold imports: round {round_ + 1}/{repetitions}")
            for target in found:
                wall, cpu = _once(target)
                target.samples.append(wall)
                target.cpu_samples.append(cpu)
    baseline = statistics.median(found[0].samples)
    cpu_baseline = statistics.median(found[0].cpu_samples)
    rows = []
    for target in found:
        median = statistics.median(target.samples)
        cpu_median = statistics.median(target.cpu_samples)
        rows.append(
            {
                "module": target.label,
                "median_s": median,
                "min_s": min(target.samples),
                "max_s": max(target.samples),
                "ratio_to_boto3": median / baseline,
                "samples_s": target.samples,
                "cpu_median_s": cpu_median,
                "cpu_ratio_to_boto3": cpu_median / cpu_baseline,
                "cpu_samples_s": target.cpu_samples,
            }
        )
    return {
        "method": "fresh `python -c` per sample; time.perf_counter (wall) and time.process_time (CPU) "
        "around the import inside the child "
        "(interpreter start-up excluded); importlib spec_from_file_location + exec_module for handlers; "
        "one discarded warm-up per target, then round-robin; GetSecretValue at import answered by a local "
        "endpoint",
        "repetitions": repetitions,
        "rows": rows,
    }
