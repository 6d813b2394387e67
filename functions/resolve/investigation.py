"""Step Functions tasks of the investigation, routed by `step`: gather evidence, set the clocks, ask the
investigator (or, on escalation, the lead or head) for findings, record the findings; or put their
question to the complainant, wait for the answer, and resume; then the approval of a costly remedy: plan
it, ask the approver, escalate, record the decision."""

from __future__ import annotations

import os
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, TypeAdapter

from complaints import wiring
from complaints.approval.contracts import AskApproval, NextApprover, PlanApproval, RecordDecision
from complaints.core.settings import Settings
from complaints.core.telemetry import count_for_alarm
from complaints.investigation.contracts import (
    Ask,
    AwaitAnswer,
    Gather,
    PutQuestion,
    RecordFindings,
    Resume,
    SetClocks,
)

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
key = wiring.signing_key(settings)
service = wiring.investigation_service(settings, key)
approval = wiring.approval_service(settings, key)


# The tasks' inputs, by step; each names its answer as Result (in the stages' contracts modules).
Request = Annotated[
    Gather
    | SetClocks
    | Ask
    | RecordFindings
    | PutQuestion
    | AwaitAnswer
    | Resume
    | PlanApproval
    | NextApprover
    | AskApproval
    | RecordDecision,
    Field(discriminator="step"),
]
parse = TypeAdapter(Request).validate_python


@logger.inject_lambda_context(correlation_id_path="complaintId", log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context) -> dict:
    request = parse(event)
    metrics.add_dimension(name="step", value=request.step)
    result: BaseModel
    if isinstance(request, Gather):
        result = service.gather_evidence(request.complaintId)
    elif isinstance(request, SetClocks):
        result = service.clocks(request.complaintId)
    elif isinstance(request, Ask):
        asked = service.ask(request.complaintId, request.level, request.token, request.timeoutSeconds)
        if request.level != "investigator":
            metrics.add_metric(name="InvestigationEscalated", unit=MetricUnit.Count, value=1)
        elif asked.reminder:
            metrics.add_metric(name="InvestigatorReminded", unit=MetricUnit.Count, value=1)
        if asked.slaMissed:
            count_for_alarm(metrics, "SlaBreached")
            logger.warning("SLA breached: the resolution time ran out; the department lead has the case")
        result = asked
    elif isinstance(request, RecordFindings):
        result = service.record_findings(request.complaintId, request.findings)
    elif isinstance(request, PutQuestion):
        result = service.put_question(request.complaintId, request.question)
        metrics.add_metric(name="CustomerAsked", unit=MetricUnit.Count, value=1)
    elif isinstance(request, AwaitAnswer):
        result = service.await_answer(request.complaintId, request.token, request.reminder)
        if request.reminder:
            metrics.add_metric(name="CustomerReminded", unit=MetricUnit.Count, value=1)
    elif isinstance(request, Resume):
        resumed = service.resume(request.complaintId)
        if not resumed.answered:
            metrics.add_metric(name="CustomerDidNotAnswer", unit=MetricUnit.Count, value=1)
        result = resumed
    elif isinstance(request, PlanApproval):
        result = approval.plan_approval(request.complaintId)
    elif isinstance(request, NextApprover):
        plan = approval.next_approver(request.complaintId, request.level)
        metrics.add_metric(name="ApprovalEscalated", unit=MetricUnit.Count, value=1)
        if plan.level == "none":  # "Approval overdue": every approver's wait ran out
            count_for_alarm(metrics, "SlaBreached")
            logger.warning("SLA breached: no approver decided in time; the case needs attention")
        result = plan
    elif isinstance(request, AskApproval):
        result = approval.ask_approval(
            request.complaintId, request.level, request.token, request.timeoutSeconds
        )
    else:
        decided = approval.record_decision(request.complaintId, request.decision)
        metrics.add_metric(name=f"Remedy{decided.decision.title()}d", unit=MetricUnit.Count, value=1)
        result = decided
    metrics.add_metric(name="InvestigationStep", unit=MetricUnit.Count, value=1)
    logger.info("investigation step", extra={"step": request.step})
    return result.model_dump(mode="json")
