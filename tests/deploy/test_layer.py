"""The domain layer as `sam build` makes it, and every handler importing from it as Lambda imports it.

`sam build` (BuildMethod python3.12) lays a layer out as python/: the source directory copied and
requirements.txt pip-installed into it, for the template's architecture. Here the same pip install runs
twice, cached under .layer-cache/ by the requirements' hash:

- for Lambda (arm64, manylinux2014_aarch64, CPython 3.12, wheels only): every package must resolve to a
  wheel, only the pinned packages may be installed, and function code plus layer must stay under Lambda's
  250 MB unzipped;
- for this machine's architecture, same Python and pins: a compiled wheel for arm64 (pydantic-core) cannot
  load here. Each function's handler is then imported by Python 3.12 in a process of its own, with only
  its CodeUri and the layer on sys.path and the environment the template gives it (dummy values), as a
  Lambda cold start does. No network: the only AWS call a handler makes at import is answered here."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.transform import ROOT, TEMPLATE, Evaluator

pytestmark = pytest.mark.xdist_group("layer")

LAYER_SOURCE = ROOT / "functions" / "layer"
REQUIREMENTS = LAYER_SOURCE / "requirements.txt"
CACHE = ROOT / ".layer-cache"  # this checkout's copy of the layer's source
# The pinned dependencies built for the runtime, and their bytecode: the same for every checkout with the same
# requirements.txt, so they are kept where pip keeps its own cache (a fresh clone, as CI makes, reuses them).
DEPENDENCIES = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "complaints-layer"
LAMBDA_LIMIT_BYTES = 250 * 1024 * 1024  # function code and all its layers, unzipped
PLATFORM_OF = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
MACHINE_ARCHITECTURE = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
# The one AWS call handlers make at import (wiring.signing_key: the link key, once per cold start).
ANSWERED_AT_IMPORT = {("secretsmanager", "GetSecretValue")}
EXPECTED_AT_IMPORT = {
    "AcknowledgeFunction": [["secretsmanager", "GetSecretValue"]],
    "EmailIntakeFunction": [["secretsmanager", "GetSecretValue"]],
    "InvestigationFunction": [["secretsmanager", "GetSecretValue"]],
    "RemedyFunction": [["secretsmanager", "GetSecretValue"]],
    "TaskLinksFunction": [["secretsmanager", "GetSecretValue"]],
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="module")
def runtime(template) -> tuple[str, str]:
    """(Python version, architecture) of every function: one runtime for the one layer."""
    default = template["Globals"]["Function"]
    found = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            props = resource["Properties"]
            (arch,) = props.get("Architectures", default["Architectures"])
            found.add((props.get("Runtime", default["Runtime"]).removeprefix("python"), arch))
    (only,) = found
    layers = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    (layer,) = layers
    assert layer["Metadata"]["BuildArchitecture"] == only[1]
    assert layer["Metadata"]["BuildMethod"] == f"python{only[0]}"
    return only


def _pinned() -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines()]
    pins = {}
    for line in filter(None, lines):
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def build_dependencies(python_version: str, architecture: str) -> Path:
    """requirements.txt installed as `sam build` installs it into the layer's python/ (wheels only, for the
    given runtime), cached by the requirements' hash; the directory that holds the packages."""
    pip_platform = PLATFORM_OF[architecture]
    key = REQUIREMENTS.read_bytes() + f"{python_version}/{pip_platform}".encode()
    digest = hashlib.sha256(key).hexdigest()
    target = DEPENDENCIES / f"{pip_platform}-py{python_version}-{digest[:16]}"
    if (target / ".complete").exists():
        return target / "python"
    DEPENDENCIES.mkdir(parents=True, exist_ok=True)
    building = DEPENDENCIES / f".building-{uuid.uuid4().hex}"
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(building / "python"), "--platform", pip_platform, "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:", "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        pytest.fail(f"pip could not install the layer for {pip_platform}:\n{result.stderr[-3000:]}")
    (building / ".complete").touch()
    for old in DEPENDENCIES.glob(f"{pip_platform}-py{python_version}-*"):
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)  # built for other requirements
    try:
        building.rename(target)
    except OSError:  # another run built the same one meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return target / "python"


def _installed(packages: Path) -> dict[str, str]:
    found = {}
    for info in packages.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[canonicalize_name(name)] = version
    return found


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def test_the_layer_installs_for_lambda_from_wheels_with_the_pins_only(runtime, template):
    python_version, architecture = runtime
    packages = build_dependencies(python_version, architecture)
    assert _installed(packages) == _pinned(), "pip installed other packages or versions than requirements.txt"
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    extensions = [p.name for p in packages.rglob("*.so")]
    assert extensions, "no compiled package: pydantic-core should have one"
    wrong = [name for name in extensions if "linux-gnu" in name and machine not in name]
    assert wrong == [], f"extensions for another architecture: {wrong}"
    code = max(_size(ROOT / res["Properties"]["CodeUri"]) for res in _functions(template).values())
    total = _size(packages) + _size(LAYER_SOURCE / "complaints") + code
    megabytes = total / 1024**2
    print(f"\nlayer for {PLATFORM_OF[architecture]}: {megabytes:.1f} MB unzipped, with the largest function")
    assert total < LAMBDA_LIMIT_BYTES


def find_python(version: str) -> Path | None:
    """A CPython of that version on this machine: pyenv's, then PATH's."""
    candidates = []
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10, check=False)
        if root.returncode == 0:
            versions = Path(root.stdout.strip()) / "versions"
            candidates += sorted(versions.glob(f"{version}.*/bin/python{version}"), reverse=True)
    except (OSError, subprocess.SubprocessError):
        pass
    if found := shutil.which(f"python{version}"):
        candidates.append(Path(found))
    for candidate in candidates:
        probe = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


class _Deployed(Evaluator):
    """Plausible values for the names and ARNs the template gives functions in their environment."""

    def ref_resource(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        arn = f"arn:aws:{{}}:{self.region}:123456789012:{{}}"
        if kind == "AWS::Serverless::StateMachine":
            return arn.format("states", f"stateMachine:{self.stack}-complaint-case")
        if kind == "AWS::SecretsManager::Secret":
            return arn.format("secretsmanager", f"secret:{logical_id}-AbCdEf")
        return f"{self.stack}-{logical_id}-1A2B3C4D5E6F"


def function_environment(template: dict[str, Any], function: str) -> dict[str, str]:
    """What Lambda puts in the function's environment: the template's variables and its own."""
    properties = template["Resources"][function]["Properties"]
    variables = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **properties.get("Environment", {}).get("Variables", {}),
    }
    evaluated = _Deployed(template).value(variables)
    region = "us-east-1"
    return {
        **{k: str(v) for k, v in evaluated.items()},
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "example-secret-access-key",
        "AWS_SESSION_TOKEN": "example-session-token",
        "AWS_LAMBDA_FUNCTION_NAME": f"complaints-{function}-1A2B3C4D5E6F",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",  # no trace segment outside an invocation
        "LAMBDA_TASK_ROOT": str(ROOT / properties["CodeUri"]),
        "_HANDLER": properties["Handler"],
    }


# Runs in the Python of the Lambda runtime, with -I -S: no site-packages, no PYTHON* variables.
_IMPORT = r"""
import importlib, json, socket, sys
code_uri, layer, packages, handler = sys.argv[1:5]
sys.path[:0] = [code_uri, layer, packages]

def no_network(*args, **kwargs):
    raise OSError("network access while importing the handler")

socket.socket.connect = socket.socket.connect_ex = no_network
socket.create_connection = no_network

import boto3, botocore, botocore.client
calls = []
answered = {tuple(call) for call in json.loads(sys.argv[5])}

def api_call(self, operation, params):
    service = self.meta.service_model.service_name
    calls.append([service, operation])
    if (service, operation) not in answered:
        raise RuntimeError(f"{service} {operation} while importing the handler")
    return {"ARN": params.get("SecretId", ""), "SecretString": "k" * 64}

botocore.client.BaseClient._make_api_call = api_call
module_name, function = handler.rsplit(".", 1)
module = importlib.import_module(module_name)
assert callable(getattr(module, function)), handler
import complaints, pydantic_core
print(json.dumps({
    "calls": calls,
    "files": {m.__name__: m.__file__ for m in (module, complaints, boto3, botocore, pydantic_core)},
}))
"""


def _import(python: Path, layer: Path, packages: Path, template: dict[str, Any], function: str):
    properties = template["Resources"][function]["Properties"]
    code_uri = ROOT / properties["CodeUri"]
    env = function_environment(template, function)
    env |= {"PATH": os.environ.get("PATH", ""), "HOME": str(layer.parent), "TMPDIR": str(layer.parent)}
    # Bytecode goes to the cache, not beside the sources: compiled once, not at every run.
    pycache = f"pycache_prefix={DEPENDENCIES / f'pycache-{python.name}'}"
    command = [
        str(python), "-I", "-S", "-X", pycache, "-c", _IMPORT, str(code_uri), str(layer), str(packages),
        properties["Handler"], json.dumps(sorted(ANSWERED_AT_IMPORT)),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_every_handler_imports_from_the_layer_on_python_of_the_runtime(runtime, template):
    python_version, _ = runtime
    python = find_python(python_version)
    if python is None:
        reason = f"no Python {python_version} here (pyenv or PATH): the handlers' imports are not checked"
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    machine = MACHINE_ARCHITECTURE.get(platform.machine().lower())
    if machine is None:
        pytest.skip(f"no manylinux wheels for this machine ({platform.machine()})")
    packages = build_dependencies(python_version, machine)
    # The package as `sam build` copies it, at a fixed path so that its bytecode is kept.
    layer = CACHE / "source" / "python"
    shutil.rmtree(layer.parent, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(LAYER_SOURCE / "complaints", layer / "complaints", ignore=ignore)

    functions = sorted(_functions(template))
    with ThreadPoolExecutor(max_workers=4) as pool:
        imported = pool.map(lambda f: _import(python, layer, packages, template, f), functions)
        results = dict(zip(functions, imported, strict=True))
    failures = {f: r.stderr[-2000:] for f, r in results.items() if r.returncode != 0}
    assert failures == {}, "\n\n".join(f"{f}:\n{err}" for f, err in failures.items())
    for function, result in results.items():
        found = json.loads(result.stdout.strip().splitlines()[-1])
        assert found["calls"] == EXPECTED_AT_IMPORT.get(function, []), function
        files = found["files"]
        assert Path(files["complaints"]).is_relative_to(layer), files
        for name in ("boto3", "botocore", "pydantic_core"):
            assert Path(files[name]).is_relative_to(packages), f"{function}: {name} from {files[name]}"
    calls = {f: EXPECTED_AT_IMPORT[f] for f in EXPECTED_AT_IMPORT}
    print(f"\n{len(results)} handlers imported on {python}; AWS calls at import: {calls}")
