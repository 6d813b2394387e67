"""Build the services a handler needs from its settings, once per cold start, on real AWS clients.

Handlers call these at import; tests build the same services on fakes instead."""

from __future__ import annotations

import boto3

from complaints.casework import Casework
from complaints.intake import IntakeService
from complaints.mail import SesMailer
from complaints.policy import Policy, load_policy
from complaints.repository import DynamoCaseRepository
from complaints.settings import Settings
from complaints.workflow import StepFunctionsWorkflow


def case_repository(settings: Settings) -> DynamoCaseRepository:
    return DynamoCaseRepository(boto3.resource("dynamodb").Table(settings.table_name))


def intake_service(settings: Settings, policy: Policy | None = None) -> IntakeService:
    return IntakeService(
        repository=case_repository(settings),
        workflow=StepFunctionsWorkflow(boto3.client("stepfunctions"), settings.state_machine_arn),
        policy=policy or load_policy(),
        settings=settings,
    )


def casework(settings: Settings) -> Casework:
    return Casework(
        repository=case_repository(settings),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        policy=load_policy(),
        settings=settings,
    )
