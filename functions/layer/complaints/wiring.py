"""Build the services a handler needs from its settings, once per cold start, on real AWS clients.

Handlers call these at import; tests build the same services on fakes instead."""

from __future__ import annotations

import boto3

from complaints.casework import Casework
from complaints.classify import classifier_from_config, load_taxonomy
from complaints.intake import IntakeService
from complaints.mail import SesMailer
from complaints.policy import Policy, load_policy
from complaints.repository import DynamoCaseRepository, DynamoTriageRepository
from complaints.settings import Settings
from complaints.triage import TriageService, load_triage_policy
from complaints.workflow import StepFunctionsWorkflow


def case_repository(settings: Settings) -> DynamoCaseRepository:
    return DynamoCaseRepository(boto3.resource("dynamodb").Table(settings.table_name))


def intake_service(settings: Settings, policy: Policy | None = None) -> IntakeService:
    return IntakeService(
        repository=case_repository(settings),
        workflow=StepFunctionsWorkflow(boto3.client("stepfunctions"), settings.state_machine_arn),
        policy=policy or load_policy(),
        settings=settings,
        classifier=classifier_from_config(load_taxonomy()),
    )


def casework(settings: Settings) -> Casework:
    return Casework(
        repository=case_repository(settings),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        policy=load_policy(),
        settings=settings,
    )


def triage_service(settings: Settings) -> TriageService:
    taxonomy = load_taxonomy()
    return TriageService(
        repository=DynamoTriageRepository(boto3.resource("dynamodb").Table(settings.table_name)),
        classifier=classifier_from_config(taxonomy),
        taxonomy=taxonomy,
        policy=load_policy(),
        triage_policy=load_triage_policy(),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        settings=settings,
    )
