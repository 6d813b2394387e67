"""`complaints`: the ops command line, against a deployed stack (default credentials and region, the
stack's outputs) or the embedded stack of `make run` (--local, or AWS_ENDPOINT_URL set).

Over 400 lines: one typer command per ops task, each short; splitting them would only scatter the options
they share."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import requests
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from complaints.classification.taxonomy import load_taxonomy
from complaints.core.calendar import load_policy
from complaints.core.errors import CaseNotFound, ComplaintsError, ConflictError, NotRetryable
from complaints.core.models import STAFF_CHANNELS
from complaints.core.rules import load_triage_policy
from complaints.intake.service import status_view
from complaints.ops.reports import Report
from complaints.presentation.render import duration, local_time
from complaints_cli import target as targets
from complaints_cli.target import Target, TargetError

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)
ZONE = load_policy().calendar.timezone
_state: dict[str, Any] = {}


@app.callback()
def main(
    local: Annotated[bool, typer.Option("--local", help="Use the embedded stack of `make run`.")] = False,
    local_url: Annotated[
        str, typer.Option(envvar="COMPLAINTS_LOCAL_URL", help="Where the embedded stack answers.")
    ] = targets.DEFAULT_LOCAL_URL,
    stack: Annotated[
        str, typer.Option(envvar="COMPLAINTS_STACK", help="CloudFormation stack name.")
    ] = "complaints",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration).")] = None,
) -> None:
    _state.clear()  # one invocation, one target
    _state.update(
        local=local or bool(os.environ.get("AWS_ENDPOINT_URL")),
        local_url=local_url,
        stack=stack,
        region=region,
    )


def target() -> Target:
    if "target" not in _state:
        if _state["local"]:
            _state["target"] = targets.local(_state["local_url"])
        else:
            _state["target"] = targets.aws(_state["stack"], _state["region"])
    return _state["target"]


def command(function: Callable) -> Callable:
    """Turn what can go wrong into a one-line message and an exit code: 1 for a wrong id or a refused
    action, 2 for a target that cannot be reached."""

    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except TargetError as error:
            err.print(f"[red]Error:[/red] {error}")
            raise typer.Exit(2) from error
        except CaseNotFound as error:
            err.print(f"[red]Error:[/red] no complaint {error} (ticket ids look like CMP-20261123-ABC123)")
            raise typer.Exit(1) from error
        except (NotRetryable, ConflictError) as error:
            err.print(f"[red]Error:[/red] {error}")
            raise typer.Exit(1) from error
        except ValueError as error:
            err.print(f"[red]Error:[/red] {error}")
            raise typer.Exit(2) from error
        except ComplaintsError as error:
            err.print(f"[red]Error:[/red] {error}")
            raise typer.Exit(1) from error
        except requests.RequestException as error:
            err.print(f"[red]Error:[/red] the API did not answer: {type(error).__name__}")
            raise typer.Exit(2) from error

    return run


def _when(value: datetime | None) -> str:
    return local_time(value, ZONE) if value else "-"


def _countdown(seconds: int) -> str:
    return f"[red]OVERDUE by {duration(seconds)}[/red]" if seconds < 0 else f"{duration(seconds)} left"


# ---------------------------------------------------------------- submit, status
@app.command()
@command
def submit(
    email: Annotated[str, typer.Option(help="The complainant's email address.")],
    description: Annotated[str, typer.Option(help="What went wrong, in their words.")],
    channel: Annotated[
        str, typer.Option(help="web, app, email or api; phone or chat: filed by you for the customer.")
    ] = "api",
    amount: Annotated[str | None, typer.Option(help="Money at stake, e.g. 150.00.")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code of the amount.")] = "CNY",
    reference: Annotated[
        list[str] | None, typer.Option("--ref", help="name=value, e.g. transactionId=TX-1.")
    ] = None,
    locale: Annotated[str | None, typer.Option(help="en or zh-CN.")] = None,
    name: Annotated[str | None, typer.Option(help="The complainant's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="The complainant's phone number.")] = None,
) -> None:
    """File a complaint through the public API, as a complainant would; with --channel phone or chat,
    through the ops route as the member of staff who took the call or chat (signed with your AWS
    credentials; on the embedded stack with its ops token, OPS_TOKEN), the case recording who you are."""
    customer: dict[str, Any] = {"email": email}
    for field, value in (("locale", locale), ("name", name), ("phone", phone)):
        if value:
            customer[field] = value
    body: dict[str, Any] = {"customer": customer, "channel": channel, "description": description}
    if amount:
        body["amount"] = {"value": amount, "currency": currency}
    if reference:
        pairs = [r.split("=", 1) for r in reference]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("--ref takes name=value")
        body["references"] = dict(pairs)
    by_staff = channel in STAFF_CHANNELS
    if by_staff:
        answer = target().post_to_ops("/ops/complaints", body)
    else:
        answer = requests.post(f"{target().api_url}/complaints", json=body, timeout=30)
    if by_staff and answer.status_code == 403:
        err.print(
            f"[red]Error:[/red] the ops route refused the request: {_message(answer)}. On AWS your IAM "
            "principal needs execute-api:Invoke on …/POST/ops/complaints; on the embedded stack OPS_TOKEN "
            "must be its token.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if answer.status_code == 422:
        err.print("[red]Error:[/red] the complaint was refused:")
        for problem in answer.json().get("errors", []):
            err.print(f"  {problem.get('field')}: {problem.get('message')}")
        raise typer.Exit(1)
    if answer.status_code != 202:
        err.print(f"[red]Error:[/red] intake answered {answer.status_code}: {answer.text[:300]}")
        raise typer.Exit(1)
    accepted = answer.json()
    out.print(f"Complaint [bold]{accepted['complaintId']}[/bold] received.")
    out.print(f"  Access code  {accepted['accessCode']}")
    out.print(f"  Status page  {accepted['statusUrl']}")
    if by_staff:
        out.print(
            f"  Filed by you for the customer ({channel}); `complaints status` shows who. "
            "The acknowledgement goes to their email address.",
            soft_wrap=True,
        )


def _message(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("message") or answer.json().get("Message") or answer.text[:200])
    except (ValueError, AttributeError):
        return answer.text[:200]


@app.command()
@command
def status(
    complaint_id: Annotated[str, typer.Argument(help="The ticket id, e.g. CMP-20261123-ABC123.")],
) -> None:
    """One case: where it is, who has it, its deadlines, its executions and its timeline."""
    overview = target().queries.case(complaint_id.strip().upper())
    case = overview.case
    out.print(f"[bold]{case.complaint_id}[/bold]  {case.status.value}")
    facts = Table.grid(padding=(0, 2))
    for name, value in [
        ("Category", case.category or "-"),
        ("Priority", case.priority or "-"),
        ("Department", case.department or "-"),
        ("Assignee", case.assignee_name or "-"),
        ("Channel", case.channel),
        ("Filed by", case.filed_by or "the complainant"),
        ("Received", _when(case.created_at)),
        ("Resolution target", _when(case.resolution_due_at)),
        ("Final response due", _when(case.response_due_at)),
        ("Needs attention", case.attention_reason or "-"),
    ]:
        facts.add_row(name, value)
    out.print(facts)
    executions = Table("Execution", "Status", "Current state", "Started", title="Executions")
    for x in overview.executions:
        executions.add_row(x.name, x.status, x.currentState or "-", _when(x.startedAt))
    out.print(executions)
    view = status_view(case.model_copy(update={"locale": "en"}), overview.timeline, load_taxonomy())
    timeline = Table("When", "What", title="Timeline")
    for entry in view.timeline:
        timeline.add_row(_when(entry.at), entry.detail)
    out.print(timeline)


# ---------------------------------------------------------------- queues
@app.command()
@command
def queue(
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    priority: Annotated[str | None, typer.Option(help="Only this priority (P1-P4).")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only cases past their resolution target.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many per department.")] = 50,
) -> None:
    """Open cases by department and priority, with SLA countdowns."""
    entries = target().queries.queue(department, priority.upper() if priority else None, overdue, limit)
    table = Table(
        "Department", "Priority", "Complaint", "Category", "Status", "Assignee", "SLA", title="Open cases"
    )
    for e in entries:
        table.add_row(
            e.department,
            e.priority,
            e.complaintId,
            e.category or "-",
            e.status,
            e.assignee or "-",
            _countdown(e.secondsLeft),
        )
    out.print(table)
    overdue_count = sum(1 for e in entries if e.overdue)
    out.print(f"{len(entries)} open case(s), {overdue_count} overdue.")


@app.command()
@command
def approvals() -> None:
    """Remedies waiting for approval: how long, and at which level (escalated when past the first)."""
    levels = _approval_levels()
    table = Table("Complaint", "Department", "Level", "Escalation", "Waiting", title="Pending approvals")
    pending = target().queries.approvals()
    for a in pending:
        step = levels.index(a.level) if a.level in levels else 0
        table.add_row(
            a.complaintId,
            a.department or "-",
            a.level,
            f"{step} of {len(levels) - 1}",
            duration(a.ageSeconds),
        )
    out.print(table)
    out.print(f"{len(pending)} approval(s) pending.")


def _approval_levels() -> list[str]:
    return list(load_triage_policy().approval.levels)


@app.command()
@command
def executions(
    status: Annotated[
        str | None, typer.Option(help="RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 25,
) -> None:
    """The latest executions with the state each is in (or ended in)."""
    found = target().queries.executions(status.upper() if status else None, limit)
    table = Table("Execution", "Status", "Current state", "Started", title="Executions")
    for x in found:
        table.add_row(x.name, x.status, x.currentState or "-", _when(x.startedAt))
    out.print(table)
    out.print(f"{len(found)} execution(s).")


@app.command()
@command
def retry(complaint_id: Annotated[str, typer.Argument(help="A case that NEEDS_ATTENTION.")]) -> None:
    """Send a NEEDS_ATTENTION case on again from the start of the stage it failed in (a new execution,
    named <id>-retry-<n>). Refused for any other case, or while its execution still runs."""
    from complaints import wiring

    t = target()
    casework = wiring.casework(t.settings, aws=t)
    done = casework.retry(complaint_id.strip().upper(), wiring.workflow(t.settings, aws=t))
    out.print(
        f"Case {done.complaintId} resumed at {done.resumedAt}: "
        f"execution {done.executionArn.rsplit(':', 1)[-1]}."
    )


# ---------------------------------------------------------------- console
@app.command()
@command
def console(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Local port on 127.0.0.1 (0: any free port).")
    ] = 8001,
    stack: Annotated[
        str | None, typer.Option(help="CloudFormation stack name (as the option before the command).")
    ] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the address.")] = False,
) -> None:
    """Open the ops console of a deployed stack: a proxy on 127.0.0.1 that signs each request to the
    API's ops pages with your AWS credentials (the routes take only SigV4-signed requests), until Ctrl-C."""
    import webbrowser

    import boto3

    from complaints_cli.console import ConsoleProxy, Upstream, load_credentials

    if _state["local"]:
        out.print(
            "The embedded stack needs no proxy: its banner prints the ops console link (with its token), "
            f"[bold]Ops console  {_state['local_url'].rstrip('/')}/ops?token=…[/bold]",
            soft_wrap=True,
        )
        return
    if stack:
        _state.update(stack=stack)
        _state.pop("target", None)
    t = target()
    credentials = load_credentials(boto3.Session(region_name=t.region))
    try:
        proxy = ConsoleProxy(Upstream(t.api_url, t.region, credentials), port, log=_log_line)
    except OSError as error:
        err.print(
            f"[red]Error:[/red] cannot listen on 127.0.0.1:{port} ({error.strerror}): pass another --port"
        )
        raise typer.Exit(2) from error
    with proxy:
        out.print(
            f"Ops console of stack {_state['stack']!r} ({t.region}), each request signed with your AWS "
            "credentials:",
            soft_wrap=True,
        )
        out.print(f"  {proxy.url}", soft_wrap=True, highlight=False)
        out.print("Listening on 127.0.0.1 only; the pages are read-only. Ctrl-C stops it.")
        out.file.flush()
        if not no_browser:
            webbrowser.open(proxy.url)
        try:
            proxy.serve_forever()
        except KeyboardInterrupt:
            out.print("Stopped.")


def _log_line(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- report
def _report_tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    def pct(rate: float | None) -> str:
        return "-" if rate is None else f"{rate:.1%}"

    names = {
        "first_response": "First response",
        "resolution_sla": "Resolution (priority SLA)",
        "final_response": "Final response (regulatory)",
    }
    tables = [
        (
            "Volume",
            ["Figure", "Value"],
            [
                ["Received", str(report.received)],
                ["Closed", str(report.closed)],
                ["Needed attention", str(report.needs_attention)],
            ],
        ),
        ("By day", ["Day", "Received"], [[d, str(n)] for d, n in report.by_day.items()]),
        ("By category", ["Category", "Received"], [[k, str(v)] for k, v in report.by_category.items()]),
        ("By channel", ["Channel", "Received"], [[k, str(v)] for k, v in report.by_channel.items()]),
        (
            "SLA compliance (closed cases)",
            ["Deadline", "Met", "Missed", "Compliance"],
            [[names[k], str(c.met), str(c.missed), pct(c.rate)] for k, c in report.compliance.items()],
        ),
        (
            "Time to resolve",
            ["Figure", "Hours"],
            [
                ["Median", "-" if report.ttr_median_hours is None else f"{report.ttr_median_hours:.1f}"],
                ["90th percentile", "-" if report.ttr_p90_hours is None else f"{report.ttr_p90_hours:.1f}"],
            ],
        ),
        (
            "Remedies",
            ["Remedy", "Count", "Amount"],
            [
                [k, str(r.count), ", ".join(f"{v:,.2f} {c}" for c, v in r.amounts.items()) or "-"]
                for k, r in report.remedies.items()
            ],
        ),
        (
            "Customer satisfaction",
            ["Rating", "Answers"],
            [[str(k), str(v)] for k, v in report.csat_distribution.items()]
            + [["Average", "-" if report.csat_average is None else f"{report.csat_average:.2f}"]],
        ),
        ("Escalations", ["Level", "Count"], [[k, str(v)] for k, v in report.escalations.items()]),
        (
            "Waiting for the customer (resolution SLA paused; the regulatory deadline runs on)",
            ["Figure", "Value"],
            [
                ["Questions answered", str(report.customer_waits.answered)],
                ["Questions unanswered", str(report.customer_waits.unanswered)],
                ["Hours waited", f"{report.customer_waits.total_hours:.1f}"],
                [
                    "Hours per question",
                    "-"
                    if report.customer_waits.average_hours is None
                    else f"{report.customer_waits.average_hours:.1f}",
                ],
            ],
        ),
        (
            "Top recurring causes",
            ["Category", "Cause", "Cases"],
            [[c.category, c.cause, str(c.count)] for c in report.top_causes],
        ),
    ]
    return tables


@app.command()
@command
def report(
    days: Annotated[int, typer.Option(min=1, max=366, help="The last N days (today included).")] = 30,
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (instead of --days).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default today).")] = None,
    charts: Annotated[Path | None, typer.Option(help="Write the charts (PNG) and report.html here.")] = None,
) -> None:
    """Volume, SLA compliance, time to resolve, remedies, satisfaction, escalations and recurring causes."""
    last = date.fromisoformat(end) if end else datetime.now(ZoneInfo(ZONE)).date()
    first = date.fromisoformat(start) if start else last - timedelta(days=days - 1)
    built = target().queries.report(first, last)
    out.print(
        f"[bold]Complaints report {first} to {last}[/bold] "
        f"({ZONE} days; {built.items_read} counter items read)"
    )
    tables = _report_tables(built)
    for title, header, rows in tables:
        table = Table(*header, title=title)
        for row in rows:
            table.add_row(*row)
        out.print(table)
    if charts is not None:
        from complaints_cli.charts import write_charts, write_html

        written = write_charts(built, charts)
        page = write_html(built, written, tables, charts / "report.html")
        out.print(f"Charts: {len(written)} PNG files and {page} written to {charts}.")


# ---------------------------------------------------------------- simulate
@app.command()
@command
def simulate(
    count: Annotated[int, typer.Argument(min=1, max=100_000, help="How many complaints to submit.")],
    seed: Annotated[int, typer.Option(help="Same seed, same complaints.")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Requests in flight.")] = 4,
    act: Annotated[
        bool,
        typer.Option(
            "--act", help="Embedded stack only: also play the investigators, approvers and customers."
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="With --act: stop waiting for closures after this many seconds.")
    ] = 600,
) -> None:
    """Submit N realistic demo complaints through the API, with a progress bar."""
    from complaints_cli.simulate import Actor, complaints, submit

    t = target()
    if act and not t.local:
        raise ValueError("--act answers emails from the local mailbox: use it with --local")
    session = requests.Session()
    submitted: dict[str, dict[str, Any]] = {}
    failures = 0
    actor = Actor(t.mailbox_url or "", seed=seed)
    stop = threading.Event()
    people = threading.Thread(target=actor.run, args=(stop,), name="simulated people", daemon=True)
    if act:
        people.start()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    started = time.monotonic()
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("Submitting", total=count)
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {
                pool.submit(submit, t.api_url, body, session): body for body in complaints(count, seed)
            }
            for future in as_completed(futures):
                try:
                    complaint_id = future.result()["complaintId"]
                except Exception as error:
                    failures += 1
                    err.print(f"[red]refused:[/red] {error}")
                else:
                    submitted[complaint_id] = futures[future]
                    actor.add(complaint_id, futures[future])
                progress.advance(task)
    out.print(
        f"Submitted {len(submitted)} complaint(s) in {time.monotonic() - started:.0f} s; {failures} refused."
    )
    if not act:
        return
    deadline = time.monotonic() + timeout
    finished = _finished_counter(t, submitted)
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("Handling (finished)", total=len(submitted))
        while time.monotonic() < deadline:
            done = sum(finished().values())
            progress.update(task, completed=done)
            if done >= len(submitted):
                break
            stop.wait(2.0)
    stop.set()
    people.join(timeout=30)
    counts = finished()
    out.print(
        f"Finished {sum(counts.values())} of {len(submitted)} in {time.monotonic() - started:.0f} s: "
        f"{counts['SUCCEEDED']} closed or linked, {counts['FAILED']} needing attention; "
        f"answers given: {dict(sorted(actor.outcomes.items()))}."
    )


def _finished_counter(t: Target, cases: dict[str, Any]) -> Callable[[], dict[str, int]]:
    """How many of `cases` have finished, from their executions: SUCCEEDED (closed, or linked to an
    earlier case) and FAILED (needs attention)."""
    sfn = t.client("stepfunctions")
    finished: dict[str, set[str]] = {"SUCCEEDED": set(), "FAILED": set()}

    def count() -> dict[str, int]:
        for status, names in finished.items():
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=t.state_machine_arn, statusFilter=status
            )
            for page in pages:
                names.update(x["name"] for x in page["executions"] if x["name"] in cases)
        return {status: len(names) for status, names in finished.items()}

    return count
