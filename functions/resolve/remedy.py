"""Step Functions tasks after approval, routed by `step`: apply the remedy, ask the customer, record
their answer, send the final response, close the case."""

from __future__ import annotations

import os
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.resolution.contracts import Answer, Apply, AskCustomer, Close, FinalResponse

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.resolution_service(settings)


# The tasks' inputs, by step; each names its answer as Result (in the stages' contracts modules).
Request = Annotated[Apply | AskCustomer | Answer | FinalResponse | Close, Field(discriminator="step")]
parse = TypeAdapter(Request).validate_python


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    metrics.add_dimension(name="step", value=request.step)
    result: BaseModel
    if isinstance(request, Apply):
        result = service.apply_remedy(request.complaintId)
    elif isinstance(request, AskCustomer):
        result = service.ask_customer(request.complaintId, request.token, request.timeoutSeconds)
    elif isinstance(request, Answer):
        recorded = service.record_answer(request.complaintId, request.answer)
        metrics.add_metric(name=f"CustomerOutcome{recorded.outcome.title()}", unit=MetricUnit.Count, value=1)
        result = recorded
    elif isinstance(request, FinalResponse):
        result = service.send_final_response(request.complaintId)
    else:
        result = service.close(request.complaintId)
        metrics.add_metric(name="CaseClosed", unit=MetricUnit.Count, value=1)
    logger.info("resolution step", extra={"step": request.step})
    return result.model_dump(mode="json")
