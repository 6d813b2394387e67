"""Step Functions tasks after approval, routed by `step`: apply the remedy, ask the customer, record
their answer, send the final response, close the case."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.resolution_service(settings)


class Apply(BaseModel):
    step: Literal["apply"]
    complaintId: str


class AskCustomer(BaseModel):
    step: Literal["ask_customer"]
    complaintId: str
    token: str
    timeoutSeconds: float


class Answer(BaseModel):
    step: Literal["answer"]
    complaintId: str
    answer: dict[str, Any] | None = None


class FinalResponse(BaseModel):
    step: Literal["final"]
    complaintId: str


class Close(BaseModel):
    step: Literal["close"]
    complaintId: str


Request = TypeAdapter(
    Annotated[Apply | AskCustomer | Answer | FinalResponse | Close, Field(discriminator="step")]
)


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = Request.validate_python(event)
    metrics.add_dimension(name="step", value=request.step)
    if isinstance(request, Apply):
        result = service.apply_remedy(request.complaintId)
    elif isinstance(request, AskCustomer):
        result = service.ask_customer(request.complaintId, request.token, request.timeoutSeconds)
    elif isinstance(request, Answer):
        result = service.record_answer(request.complaintId, request.answer)
        metrics.add_metric(name=f"CustomerOutcome{result['outcome'].title()}", unit=MetricUnit.Count, value=1)
    elif isinstance(request, FinalResponse):
        result = service.send_final_response(request.complaintId)
    else:
        result = service.close(request.complaintId)
        metrics.add_metric(name="CaseClosed", unit=MetricUnit.Count, value=1)
    logger.info("resolution step", extra={"step": request.step})
    return result
