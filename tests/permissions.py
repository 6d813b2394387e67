"""Least privilege, measured: every AWS call each function makes during the suite is checked against its
execution role (the embedded stack and the integration tests enforce the roles, infra/moto_hooks.py,
section 7) and recorded; at the end of a whole run the records are compared with the roles' grants, both
ways:

- every call was allowed (a call its role does not allow fails the test that made it, and shows here);
- every grant was used by at least one call, unless UNUSED lists it with the reason it is kept.

The records are JSON lines in .pytest_cache/iam-checks/ (one file per stack and per worker). The comparison
runs in the controller after the whole suite (`make test`, or `pytest` with no selection) has passed; a
partial run cannot see every call, so it only prints where the records are."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORD_DIR = ROOT / ".pytest_cache" / "iam-checks"
ENV = "IAM_RECORD_DIR"

# (function, action) -> why the grant stays although no test makes that call.
_SEND_EMAIL = (
    "the mailer sends raw MIME through SES v2 SendEmail, which AWS authorizes as ses:SendRawEmail (what the "
    "local stack checks); the Service Authorization Reference names ses:SendEmail for that operation, so "
    "both are granted, on the sender's identity only, and neither reading refuses the mail"
)
UNUSED: dict[tuple[str, str], str] = {
    (function, "ses:SendEmail"): _SEND_EMAIL
    for function in (
        "AcknowledgeFunction",
        "TriageFunction",
        "SpikeWatchFunction",
        "InvestigationFunction",
        "RemedyFunction",
        "RecordFailureFunction",
    )
}


@dataclass(frozen=True)
class Grant:
    function: str
    action: str  # may hold wildcards, as in a policy
    resource: str  # may hold wildcards

    def covers(self, action: str, resource: str) -> bool:
        return fnmatch.fnmatchcase(action, self.action) and fnmatch.fnmatchcase(resource, self.resource)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants() -> list[Grant]:
    """The Allow statements of each function's inline role policies, in the transformed template."""
    from infra import template

    tpl = template.load()
    # A secret's ARN ends in a random suffix, known once it exists (on AWS as on each local stack).
    tpl = tpl.bind(
        {
            name: f"arn:aws:secretsmanager:{tpl.region}:{template.ACCOUNT}:secret:{name}-*"
            for name in tpl.secrets
        }
    )
    found = []
    for spec in tpl.functions.values():
        for document in tpl.roles[spec.role].policies.values():
            for statement in _listed(document["Statement"]):
                if statement.get("Effect") != "Allow":
                    continue
                for action in _listed(statement["Action"]):
                    for resource in _listed(statement["Resource"]):
                        found.append(Grant(spec.logical_id, action, resource))
    return found


def read_records(directory: Path = RECORD_DIR) -> list[dict]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return records


def compare(granted: Iterable[Grant], records: list[dict]) -> list[str]:
    """What is wrong: denied calls, and grants no call used (but those UNUSED explains)."""
    problems = [
        f"{r['function']} was refused {r['action']} on {r['resource']}" for r in records if not r["allowed"]
    ]
    for grant in sorted(set(granted), key=lambda g: (g.function, g.action, g.resource)):
        if (grant.function, grant.action) in UNUSED:
            continue
        used = any(
            r["function"] == grant.function and r["allowed"] and grant.covers(r["action"], r["resource"])
            for r in records
        )
        if not used:
            problems.append(f"{grant.function} is granted {grant.action} on {grant.resource}, never used")
    return problems


def configure(config: pytest.Config) -> None:
    """Controller (or a run without xdist): a fresh record directory for this run's stacks and workers."""
    if hasattr(config, "workerinput"):
        return
    if RECORD_DIR.exists():
        for path in RECORD_DIR.glob("*.jsonl"):
            path.unlink()
    RECORD_DIR.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(RECORD_DIR)


def whole_suite(config: pytest.Config) -> bool:
    args = [Path(a).resolve() for a in config.args]
    return (
        all(a == ROOT / "tests" or a == ROOT for a in args)
        and not config.option.keyword
        and not config.option.markexpr
        and not getattr(config.option, "lf", False)  # absent with -p no:cacheprovider
    )


def session_finish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or exitstatus != 0:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not whole_suite(config):
        if reporter:
            reporter.write_line(f"IAM: a partial run; the permission checks it recorded are in {RECORD_DIR}")
        return
    records = read_records()
    problems = compare(grants(), records)
    if reporter:
        functions = len({r["function"] for r in records})
        reporter.write_sep("-", "least privilege")
        reporter.write_line(f"IAM: {len(records)} calls by {functions} functions checked against their roles")
        for problem in problems:
            reporter.write_line(f"IAM: {problem}")
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
