"""Scheduled: start the workflow of cases that were saved but whose StartExecution failed."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from complaints import wiring
from complaints.core.settings import Settings

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.intake_service(settings)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    report = service.reconcile()
    metrics.add_metric(name="WorkflowsReconciled", unit=MetricUnit.Count, value=len(report.started))
    metrics.add_metric(name="WorkflowReconcileFailures", unit=MetricUnit.Count, value=len(report.failed))
    if report.started or report.failed:
        logger.info("reconciled", extra={"started": report.started, "failed": report.failed})
    return {"started": report.started, "failed": report.failed}
