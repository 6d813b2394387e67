"""SES receipt rule action "Lambda" (asynchronous): an email SES received and stored in S3 becomes a
complaint, joins its case's conversation, or waits for ops (complaints.intake.mail says which).

Lambda retries an asynchronous invoke that fails (twice), then the dead-letter queue keeps the event: the
stored email is never lost, and a retry changes nothing that was done."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.intake.contracts import SesNotice

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
receiver = wiring.mail_intake(settings)
parse = TypeAdapter(SesNotice).validate_python


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    notice = parse(event)
    for record in notice.Records:
        outcome = receiver.receive(record.delivery())
        metrics.add_metric(name=f"Email{outcome.outcome.title()}", unit=MetricUnit.Count, value=1)
        logger.info(
            "email received",
            extra={
                "outcome": outcome.outcome,
                "reason": outcome.reason,
                "complaint_id": outcome.complaint_id,
                "first_time": outcome.first_time,
            },
        )
    return {"disposition": "CONTINUE"}
