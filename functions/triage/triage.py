"""Step Functions task "Triage complaint": classify, link a duplicate, or prioritise, route and set the
SLA clocks."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.triage.contracts import TriageRequest

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.triage_service(settings)

# The task's input; its answer is Request.Result (both in the stage's contracts module).
Request = TriageRequest
parse = TypeAdapter(Request).validate_python


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    outcome = service.triage(request.complaintId)
    if outcome.outcome == "RELATED":
        metrics.add_metric(name="ComplaintLinkedAsDuplicate", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_dimension(name="priority", value=outcome.priority or "none")
        metrics.add_metric(name="ComplaintTriaged", unit=MetricUnit.Count, value=1)
    logger.info(
        "triaged",
        extra={"outcome": outcome.outcome, "category": outcome.category, "priority": outcome.priority},
    )
    return outcome.model_dump(mode="json")
