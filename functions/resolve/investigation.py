"""Step Functions tasks of the investigation, routed by `step`: gather evidence, set the clocks, ask the
investigator (or, on escalation, the lead or head) for findings, record the findings."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, TypeAdapter

from complaints import wiring
from complaints.core.settings import Settings
from complaints.core.telemetry import count_for_alarm

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.investigation_service(settings)


class Gather(BaseModel):
    step: Literal["gather"]
    complaintId: str


class SetClocks(BaseModel):
    step: Literal["clocks"]
    complaintId: str


class Ask(BaseModel):
    step: Literal["ask"]
    complaintId: str
    level: Literal["investigator", "lead", "head"]
    token: str
    timeoutSeconds: float


class RecordFindings(BaseModel):
    step: Literal["findings"]
    complaintId: str
    findings: dict[str, Any]


class PlanApproval(BaseModel):
    step: Literal["plan_approval"]
    complaintId: str


class NextApprover(BaseModel):
    step: Literal["next_approver"]
    complaintId: str
    level: str


class AskApproval(BaseModel):
    step: Literal["ask_approval"]
    complaintId: str
    level: str
    token: str
    timeoutSeconds: float


class RecordDecision(BaseModel):
    step: Literal["decision"]
    complaintId: str
    decision: dict[str, Any]


Request = TypeAdapter(
    Annotated[
        Gather
        | SetClocks
        | Ask
        | RecordFindings
        | PlanApproval
        | NextApprover
        | AskApproval
        | RecordDecision,
        Field(discriminator="step"),
    ]
)


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = Request.validate_python(event)
    metrics.add_dimension(name="step", value=request.step)
    if isinstance(request, Gather):
        result = service.gather_evidence(request.complaintId)
    elif isinstance(request, SetClocks):
        result = service.clocks(request.complaintId).__dict__
    elif isinstance(request, Ask):
        result = service.ask(request.complaintId, request.level, request.token, request.timeoutSeconds)
        if request.level != "investigator":
            metrics.add_metric(name="InvestigationEscalated", unit=MetricUnit.Count, value=1)
        elif result["reminder"]:
            metrics.add_metric(name="InvestigatorReminded", unit=MetricUnit.Count, value=1)
        if result["slaMissed"]:
            count_for_alarm(metrics, "SlaBreached")
            logger.warning("SLA breached: the resolution time ran out; the department lead has the case")
    elif isinstance(request, RecordFindings):
        result = service.record_findings(request.complaintId, request.findings)
    elif isinstance(request, PlanApproval):
        result = service.plan_approval(request.complaintId)
    elif isinstance(request, NextApprover):
        result = service.next_approver(request.complaintId, request.level)
        metrics.add_metric(name="ApprovalEscalated", unit=MetricUnit.Count, value=1)
        if result["level"] == "none":  # "Approval overdue": every approver's wait ran out
            count_for_alarm(metrics, "SlaBreached")
            logger.warning("SLA breached: no approver decided in time; the case needs attention")
    elif isinstance(request, AskApproval):
        result = service.ask_approval(
            request.complaintId, request.level, request.token, request.timeoutSeconds
        )
    else:
        result = service.record_decision(request.complaintId, request.decision)
        metrics.add_metric(name=f"Remedy{result['decision'].title()}d", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InvestigationStep", unit=MetricUnit.Count, value=1)
    logger.info("investigation step", extra={"step": request.step})
    return result
