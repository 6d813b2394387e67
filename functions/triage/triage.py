"""Step Functions task "Triage complaint": classify, link a duplicate, or prioritise, route and set the
SLA clocks."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from complaints import wiring
from complaints.core.settings import Settings

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.triage_service(settings)


class TriageRequest(BaseModel):
    complaintId: str


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = TriageRequest.model_validate(event)
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
    return {
        "complaintId": outcome.complaintId,
        "outcome": outcome.outcome,
        "category": outcome.category,
        "priority": outcome.priority,
        "relatedTo": outcome.relatedTo,
    }
