"""What each handler loads at import, in a fresh interpreter with its template.yaml environment (as
`make bench` measures it): its own service, and nothing a first use loads instead (templates, holidays,
email-validator, the taxonomy where nothing classifies, Powertools' event handler outside the APIs, the
Swagger page's OpenAPI models). Loading one of them at import again is a cold-start regression."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import imports

# Its fixture imports every handler in fresh interpreters: once, on one worker, not once per worker.
pytestmark = pytest.mark.xdist_group("cold_start")

NEVER_AT_IMPORT = (
    "jinja2",
    "holidays",
    "email_validator",
    "pydantic_settings",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.event_handler.openapi.swagger_ui",
)

# The domain modules that only some handlers load, and which handlers (by handler file) those are.
ONLY_IN = {
    "aws_lambda_powertools.event_handler": {
        "intake/api.py",
        "intake/conversation.py",
        "ops/api.py",
        "resolve/links.py",
    },
    "complaints.intake.uploads": {"intake/conversation.py", "intake/api.py", "intake/inbound.py"},
    "complaints.intake.service": {"intake/api.py", "intake/reconcile.py", "intake/inbound.py"},
    "complaints.intake.mail": {"intake/inbound.py"},
    # The file store: uploads, attachments kept, and staff's download links.
    "complaints.adapters.s3": {
        "intake/inbound.py",
        "intake/conversation.py",
        "ops/api.py",
        "resolve/links.py",
    },
    "complaints.intake.acknowledgement": {"intake/acknowledge.py"},
    "complaints.supervision.casework": {"resolve/failure.py"},
    "complaints.triage.service": {"triage/triage.py", "triage/spikes.py"},
    "complaints.investigation.service": {"resolve/investigation.py"},
    "complaints.approval.service": {"resolve/investigation.py"},
    "complaints.tasklinks.pages": {"resolve/links.py"},
    "complaints.resolution.service": {"resolve/remedy.py"},
    "complaints.adapters.ops": {"ops/api.py"},
    # The triage service checks the roster against the taxonomy when it is built.
    "complaints.classification.taxonomy": {"triage/triage.py", "triage/spikes.py"},
}

CHILD = imports.CHILD + "import json\nprint(json.dumps(sorted(sys.modules)))\n"


def _import(target: imports.Target) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, target.argument],
        env=target.env,
        cwd=imports.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{target.label}:\n{done.stderr}"
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    """Handler file (relative to functions/) -> the modules loaded once it is imported."""
    with imports.secrets_endpoint() as secrets_url:
        targets = [target for target in imports.targets(secrets_url) if target.argument.endswith(".py")]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            modules = list(pool.map(_import, targets))
    return {
        target.label.removeprefix("functions/"): found for target, found in zip(targets, modules, strict=True)
    }


def test_every_function_of_the_template_is_imported(loaded):
    assert len(loaded) == 12
    assert {"intake/api.py", "triage/triage.py", "resolve/failure.py"} <= set(loaded)


def test_no_handler_loads_at_import_what_a_first_use_loads(loaded):
    for handler, modules in loaded.items():
        assert not modules & set(NEVER_AT_IMPORT), handler


@pytest.mark.parametrize("module", sorted(ONLY_IN))
def test_a_handler_loads_its_own_service_only(loaded, module):
    assert {handler for handler, modules in loaded.items() if module in modules} == ONLY_IN[module]
