"""Step Functions task "Record failure": any step's error lands the case in NEEDS_ATTENTION, visibly,
with the reason in its timeline, and ops get an alert."""

from __future__ import annotations

import json
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.core.telemetry import count_for_alarm
from complaints.supervision.contracts import FailureRecorded, FailureRequest

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
casework = wiring.casework(settings)

# The task's input; its answer is Request.Result (both in the stage's contracts module).
Request = FailureRequest
parse = TypeAdapter(Request).validate_python


def _cause_message(cause: str) -> str:
    """Lambda errors arrive as a JSON Cause with errorMessage; keep just that message."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    record = casework.record_failure(
        request.complaintId,
        request.state,
        request.error.Error,
        _cause_message(request.error.Cause),
        request.execution,
    )
    metrics.add_dimension(name="state", value=request.state)
    metrics.add_metric(name="CaseNeedsAttention", unit=MetricUnit.Count, value=1)  # per failed state
    count_for_alarm(metrics, "CaseNeedsAttention")
    logger.warning("case needs attention", extra={"state": request.state, "error": request.error.Error})
    if not record.alerted:
        metrics.add_metric(name="OpsAlertFailed", unit=MetricUnit.Count, value=1)
        logger.error("the ops alert email was refused")
    return FailureRecorded(complaintId=request.complaintId, reason=record.reason).model_dump(mode="json")
