"""The ops console behind IAM auth: GET /ops (one page: queues with SLA countdowns, pending approvals,
cases needing attention, alerts, executions), GET /ops/executions/{name} (an execution's history in
plain words) and GET /ops/api/{view} (the same data as JSON).

API Gateway lets no anonymous request through (AWS_IAM in template.yaml; the embedded stack asks for
the token it prints at start), so this handler serves only signed-in ops people."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from complaints import wiring
from complaints.core.calendar import load_policy
from complaints.core.errors import CaseNotFound
from complaints.core.settings import Settings
from complaints.http.web import base_path, secured
from complaints.presentation.render import render

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
queries = wiring.ops_queries(settings)
zone = load_policy().calendar.timezone
app = APIGatewayRestResolver(enable_validation=True)
HTML = "text/html; charset=utf-8"
JSON = "application/json"


def _html(template: str, status: int = 200, **context) -> Response:
    base = base_path(app.current_event.raw_event)  # the API's stage (or custom domain's) path prefix
    return Response(
        status_code=status, content_type=HTML, body=render(template, zone=zone, base=base, **context)
    )


@app.get("/ops", include_in_schema=False)
def console():
    metrics.add_metric(name="OpsConsoleViewed", unit=MetricUnit.Count, value=1)
    return _html(
        "ops_page.html",
        queue=queries.queue(limit=20),
        approvals=queries.approvals(),
        attention=queries.attention(),
        alerts=queries.alerts(),
        executions=queries.executions(limit=25),
        held=queries.held_mail(limit=20),
        mailbox_url=settings.local_mailbox_url,
    )


@app.get("/ops/executions/<name>", include_in_schema=False)
def timeline(name: Annotated[str, Path(max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]):
    try:
        lines = queries.history(name)
    except CaseNotFound:
        return _html("ops_timeline.html", 404, name=name, lines=[], case=None, messages=[], missing=True)
    case = queries.case_record(name.split("-retry-", 1)[0])
    messages = queries.conversation(case.complaint_id) if case is not None and case.message_count else []
    downloads = queries.downloads(messages)
    return _html(
        "ops_timeline.html",
        name=name,
        lines=lines,
        case=case,
        messages=messages,
        downloads=downloads,
        missing=False,
    )


@app.get("/ops/api/<view>", include_in_schema=False)
def data(
    view: Annotated[str, Path(max_length=20)],
    department: Annotated[str | None, Query(max_length=40)] = None,
    priority: Annotated[str | None, Query(max_length=2)] = None,
    overdue: Annotated[bool, Query()] = False,
    status: Annotated[str | None, Query(max_length=20)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
):
    try:
        if view == "queue":
            body = [e.model_dump(mode="json") for e in queries.queue(department, priority, overdue)]
        elif view == "approvals":
            body = [a.model_dump(mode="json") for a in queries.approvals()]
        elif view == "attention":
            body = [a.model_dump(mode="json") for a in queries.attention()]
        elif view == "alerts":
            body = [a.model_dump(mode="json") for a in queries.alerts()]
        elif view == "held":
            body = [m.model_dump(mode="json") for m in queries.held_mail()]
        elif view == "executions":
            body = [e.model_dump(mode="json") for e in queries.executions(status)]
        elif view == "report":
            end = datetime.now(ZoneInfo(zone)).date()
            body = queries.report(end - timedelta(days=days - 1), end).model_dump(mode="json")
        else:
            return Response(status_code=404, content_type=JSON, body={"message": f"no view {view!r}"})
    except ValueError as error:
        return Response(status_code=400, content_type=JSON, body={"message": str(error)})
    return Response(status_code=200, content_type=JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@secured
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)
