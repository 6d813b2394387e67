"""Step Functions task "Watch for spikes": count the complaint in its category's hour and alert ops
once per category and hour when the count jumps."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.core.telemetry import count_for_alarm
from complaints.triage.contracts import SpikeRequest, SpikeWatched

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.triage_service(settings)

# The task's input; its answer is Request.Result (both in the stage's contracts module).
Request = SpikeRequest
parse = TypeAdapter(Request).validate_python


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    outcome = service.watch_spikes(request.complaintId)
    metrics.add_dimension(name="category", value=outcome.category)
    metrics.add_metric(name="ComplaintsThisHour", unit=MetricUnit.Count, value=outcome.count)
    if outcome.alerted:
        metrics.add_metric(name="ComplaintSpike", unit=MetricUnit.Count, value=1)  # per category
        count_for_alarm(metrics, "ComplaintSpike")
        logger.warning("complaint spike", extra={"category": outcome.category, "count": outcome.count})
    watched = SpikeWatched(complaintId=outcome.complaintId, count=outcome.count, alerted=outcome.alerted)
    return watched.model_dump(mode="json")
