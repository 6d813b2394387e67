"""Build the services a handler needs from its settings, once per cold start, on real AWS clients.

Handlers call these at import; tests build the same services on fakes instead. Each factory imports
what it builds, so a handler's cold start loads its own service and adapters, not every handler's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from complaints.adapters.dynamo.cases import DynamoCaseRepository
    from complaints.core.calendar import Policy
    from complaints.core.settings import Settings
    from complaints.intake.service import IntakeService
    from complaints.investigation.service import InvestigationService
    from complaints.ops.queries import OpsQueries
    from complaints.resolution.service import ResolutionService
    from complaints.supervision.casework import Casework
    from complaints.triage.service import TriageService


def case_repository(settings: Settings) -> DynamoCaseRepository:
    from complaints.adapters.dynamo.cases import DynamoCaseRepository

    return DynamoCaseRepository(boto3.resource("dynamodb").Table(settings.table_name))


def intake_service(settings: Settings, policy: Policy | None = None) -> IntakeService:
    from complaints.adapters.stepfunctions import StepFunctionsWorkflow
    from complaints.classification.deferred import packaged_classifier
    from complaints.core.calendar import load_policy
    from complaints.intake.service import IntakeService

    return IntakeService(
        repository=case_repository(settings),
        workflow=StepFunctionsWorkflow(boto3.client("stepfunctions"), settings.state_machine_arn),
        policy=policy or load_policy(),
        settings=settings,
        classifier=packaged_classifier(),
    )


def casework(settings: Settings) -> Casework:
    from complaints.adapters.ses import SesMailer
    from complaints.core.calendar import load_policy
    from complaints.supervision.casework import Casework

    return Casework(
        repository=case_repository(settings),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        policy=load_policy(),
        settings=settings,
    )


def triage_service(settings: Settings) -> TriageService:
    from complaints.adapters.dynamo.triage import DynamoTriageRepository
    from complaints.adapters.ses import SesMailer
    from complaints.classification.deferred import packaged_classifier
    from complaints.classification.taxonomy import load_taxonomy
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.triage.service import TriageService

    return TriageService(
        repository=DynamoTriageRepository(boto3.resource("dynamodb").Table(settings.table_name)),
        classifier=packaged_classifier(),
        taxonomy=load_taxonomy(),
        policy=load_policy(),
        triage_policy=load_triage_policy(),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        settings=settings,
    )


def signing_key(settings: Settings) -> bytes:
    """The task-link HMAC key, read once per cold start from Secrets Manager."""
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=settings.link_secret_arn)
    return secret["SecretString"].encode()


def investigation_service(settings: Settings) -> InvestigationService:
    from complaints.adapters.dynamo.investigation import DynamoInvestigationRepository
    from complaints.adapters.ses import SesMailer
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.core import ids
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.investigation.evidence import EarlierComplaints, ReferencedRecords
    from complaints.investigation.service import InvestigationService

    repository = DynamoInvestigationRepository(boto3.resource("dynamodb").Table(settings.table_name))
    return InvestigationService(
        repository=repository,
        sources=[ReferencedRecords(repository), EarlierComplaints(repository, ids.customer_key)],
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        triage_policy=load_triage_policy(),
        settings=settings,
        signing_key=signing_key(settings),
        callbacks=StepFunctionsCallbacks(boto3.client("stepfunctions")),
        timezone=load_policy().calendar.timezone,
    )


def resolution_service(settings: Settings) -> ResolutionService:
    from complaints.adapters.dynamo.investigation import DynamoInvestigationRepository
    from complaints.adapters.ledger import LedgerTableAdapter
    from complaints.adapters.ses import SesMailer
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.resolution.service import ResolutionService

    triage_policy = load_triage_policy()
    return ResolutionService(
        repository=DynamoInvestigationRepository(boto3.resource("dynamodb").Table(settings.table_name)),
        ledger=LedgerTableAdapter(boto3.resource("dynamodb").Table(settings.ledger_table)),
        mailer=SesMailer(boto3.client("sesv2"), settings.sender_email),
        policy=load_policy(),
        resolution=triage_policy.resolution,
        settings=settings,
        signing_key=signing_key(settings),
    )


def ops_queries(settings: Settings) -> OpsQueries:
    from complaints.core.rules import load_triage_policy
    from complaints.ops.queries import OpsQueries

    return OpsQueries(
        table=boto3.resource("dynamodb").Table(settings.table_name),
        stepfunctions=boto3.client("stepfunctions"),
        state_machine_arn=settings.state_machine_arn,
        departments=list(load_triage_policy().roster),
        time_scale=settings.time_scale,
    )
