"""Step Functions task "Send acknowledgement": email the complainant their ticket, deadline and link."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.intake.contracts import Acknowledged, AcknowledgeRequest

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
acknowledger = wiring.acknowledger(settings)

# The task's input; its answer is Request.Result (both in the stage's contracts module).
Request = AcknowledgeRequest
parse = TypeAdapter(Request).validate_python


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    result = acknowledger.acknowledge(request.complaintId)
    if result.sent:
        name = "AcknowledgementSent"
    elif result.withheld:
        name = "AcknowledgementWithheld"
    else:
        name = "AcknowledgementAlreadySent"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info("acknowledgement", extra={"sent": result.sent, "withheld": result.withheld})
    return Acknowledged(complaintId=result.complaintId, acknowledgedAt=result.acknowledgedAt).model_dump(
        mode="json"
    )
