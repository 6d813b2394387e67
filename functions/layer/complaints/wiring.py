"""Build the services from settings and AWS clients: the one place adapters meet services.

Handlers call these once per cold start, on boto3's default session (AWS_ENDPOINT_URL points it at the
embedded stack locally). The ops command line and the integration tests call the same functions with their
own `aws` (anything with boto3's `client(name)` and `resource(name)`: a boto3 Session, or one pointed at
moto); unit tests build the services on fakes instead. Each factory imports what it builds, so a handler's
cold start loads its own service and adapters, not every handler's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from complaints.core.clock import Clock, utc_now

if TYPE_CHECKING:
    from complaints.adapters.dynamo.repositories import DynamoCaseRepository, DynamoInvestigationRepository
    from complaints.adapters.ops import OpsQueries
    from complaints.adapters.s3 import S3FileStore
    from complaints.adapters.ses import SesMailer
    from complaints.adapters.stepfunctions import StepFunctionsWorkflow
    from complaints.approval.service import ApprovalService
    from complaints.core.calendar import Policy
    from complaints.core.settings import Settings
    from complaints.intake.acknowledgement import Acknowledger
    from complaints.intake.mail import MailIntake
    from complaints.intake.service import IntakeService
    from complaints.intake.uploads import Uploads
    from complaints.investigation.service import InvestigationService
    from complaints.resolution.service import ResolutionService
    from complaints.supervision.casework import Casework
    from complaints.tasklinks.pages import TaskPages
    from complaints.triage.service import TriageService


class Aws(Protocol):
    """Where AWS clients come from: boto3 itself, or a boto3.Session."""

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any: ...

    def resource(self, service_name: str, *args: Any, **kwargs: Any) -> Any: ...


def _table(aws: Aws, name: str) -> Any:
    return aws.resource("dynamodb").Table(name)


def _mailer(settings: Settings, aws: Aws) -> SesMailer:
    from complaints.adapters.ses import SesMailer

    return SesMailer(aws.client("sesv2"), settings.sender_email)


def _files(settings: Settings, aws: Aws) -> S3FileStore:
    """The files complainants send. SigV4: S3 takes no other signature on a form or a link, and boto3 would
    sign a presigned POST with version 2."""
    from complaints.adapters.s3 import S3FileStore

    return S3FileStore(
        lambda: aws.client("s3", config=Config(signature_version="s3v4")), settings.attachments_bucket
    )


def workflow(settings: Settings, aws: Aws = boto3) -> StepFunctionsWorkflow:
    from complaints.adapters.stepfunctions import StepFunctionsWorkflow

    return StepFunctionsWorkflow(aws.client("stepfunctions"), settings.state_machine_arn)


def signing_key(settings: Settings, aws: Aws = boto3) -> bytes:
    """The task-link HMAC key, read once per cold start from Secrets Manager."""
    secret = aws.client("secretsmanager").get_secret_value(SecretId=settings.link_secret_arn)
    return secret["SecretString"].encode()


def case_repository(settings: Settings, aws: Aws = boto3) -> DynamoCaseRepository:
    from complaints.adapters.dynamo.repositories import DynamoCaseRepository

    return DynamoCaseRepository(_table(aws, settings.table_name))


def _investigation_repository(settings: Settings, aws: Aws) -> DynamoInvestigationRepository:
    from complaints.adapters.dynamo.repositories import DynamoInvestigationRepository

    return DynamoInvestigationRepository(_table(aws, settings.table_name))


def intake_service(
    settings: Settings, policy: Policy | None = None, aws: Aws = boto3, clock: Clock = utc_now
) -> IntakeService:
    from complaints.classification.deferred import packaged_classifier
    from complaints.core.calendar import load_policy
    from complaints.intake.service import IntakeService

    repository = case_repository(settings, aws)
    return IntakeService(
        repository=repository,
        workflow=workflow(settings, aws),
        policy=policy or load_policy(),
        settings=settings,
        clock=clock,
        classifier=packaged_classifier(),
        conversation=repository,
    )


def acknowledger(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> Acknowledger:
    from complaints.core.calendar import load_policy
    from complaints.intake.acknowledgement import Acknowledger

    repository = case_repository(settings, aws)
    return Acknowledger(
        repository=repository,
        mailer=_mailer(settings, aws),
        policy=load_policy(),
        settings=settings,
        clock=clock,
        reply_key=signing_key(settings, aws),
        conversation=repository,
    )


def uploads(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> Uploads:
    """The complainant's messages and files on the status page."""
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.intake.uploads import Uploads

    repository = case_repository(settings, aws)
    return Uploads(
        cases=repository,
        conversation=repository,
        files=_files(settings, aws),
        settings=settings,
        clock=clock,
        callbacks=StepFunctionsCallbacks(aws.client("stepfunctions")),
    )


def mail_intake(
    settings: Settings, aws: Aws = boto3, clock: Clock = utc_now, key: bytes | None = None
) -> MailIntake:
    """Email intake: the raw emails SES stored in S3, the intake service, the conversation, and the key
    that signs reply addresses."""
    from complaints.adapters.s3 import S3MailStore
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.intake.mail import MailIntake

    intake = intake_service(settings, aws=aws, clock=clock)
    repository = case_repository(settings, aws)
    return MailIntake(
        intake=intake,
        cases=repository,
        conversation=repository,
        mail=S3MailStore(aws.client("s3"), settings.inbound_bucket, settings.inbound_prefix),
        settings=settings,
        reply_key=key if key is not None else signing_key(settings, aws),
        clock=clock,
        files=_files(settings, aws),
        callbacks=StepFunctionsCallbacks(aws.client("stepfunctions")),
    )


def casework(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> Casework:
    from complaints.core.calendar import load_policy
    from complaints.supervision.casework import Casework

    return Casework(
        repository=case_repository(settings, aws),
        mailer=_mailer(settings, aws),
        policy=load_policy(),
        settings=settings,
        clock=clock,
    )


def triage_service(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> TriageService:
    from complaints.adapters.dynamo.repositories import DynamoTriageRepository
    from complaints.classification.deferred import packaged_classifier
    from complaints.classification.taxonomy import load_taxonomy
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.triage.service import TriageService

    return TriageService(
        repository=DynamoTriageRepository(_table(aws, settings.table_name)),
        classifier=packaged_classifier(),
        taxonomy=load_taxonomy(),
        policy=load_policy(),
        triage_policy=load_triage_policy(),
        mailer=_mailer(settings, aws),
        settings=settings,
        clock=clock,
    )


def investigation_service(
    settings: Settings, key: bytes | None = None, aws: Aws = boto3, clock: Clock = utc_now
) -> InvestigationService:
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.core import ids
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.investigation.evidence import EarlierComplaints, ReferencedRecords
    from complaints.investigation.service import InvestigationService

    repository = _investigation_repository(settings, aws)
    return InvestigationService(
        repository=repository,
        sources=[ReferencedRecords(repository), EarlierComplaints(repository, ids.customer_key)],
        mailer=_mailer(settings, aws),
        triage_policy=load_triage_policy(),
        settings=settings,
        signing_key=key or signing_key(settings, aws),
        callbacks=StepFunctionsCallbacks(aws.client("stepfunctions")),
        clock=clock,
        timezone=load_policy().calendar.timezone,
        policy=load_policy(),
        conversation=repository,
    )


def approval_service(
    settings: Settings, key: bytes | None = None, aws: Aws = boto3, clock: Clock = utc_now
) -> ApprovalService:
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.approval.service import ApprovalService
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy

    return ApprovalService(
        repository=_investigation_repository(settings, aws),
        mailer=_mailer(settings, aws),
        triage_policy=load_triage_policy(),
        settings=settings,
        signing_key=key or signing_key(settings, aws),
        callbacks=StepFunctionsCallbacks(aws.client("stepfunctions")),
        clock=clock,
        timezone=load_policy().calendar.timezone,
    )


def task_pages(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> TaskPages:
    from complaints.adapters.stepfunctions import StepFunctionsCallbacks
    from complaints.tasklinks.pages import TaskPages

    repository = _investigation_repository(settings, aws)
    return TaskPages(
        repository=repository,
        signing_key=signing_key(settings, aws),
        callbacks=StepFunctionsCallbacks(aws.client("stepfunctions")),
        clock=clock,
        conversation=repository,
        files=_files(settings, aws),
    )


def resolution_service(
    settings: Settings, key: bytes | None = None, aws: Aws = boto3, clock: Clock = utc_now
) -> ResolutionService:
    from complaints.adapters.ledger import LedgerTableAdapter
    from complaints.core.calendar import load_policy
    from complaints.core.rules import load_triage_policy
    from complaints.resolution.service import ResolutionService

    repository = _investigation_repository(settings, aws)
    return ResolutionService(
        repository=repository,
        ledger=LedgerTableAdapter(_table(aws, settings.ledger_table)),
        mailer=_mailer(settings, aws),
        policy=load_policy(),
        resolution=load_triage_policy().resolution,
        settings=settings,
        signing_key=key or signing_key(settings, aws),
        clock=clock,
        conversation=repository,
    )


def ops_queries(settings: Settings, aws: Aws = boto3, clock: Clock = utc_now) -> OpsQueries:
    from complaints.adapters.ops import OpsQueries
    from complaints.core.rules import load_triage_policy

    return OpsQueries(
        table=_table(aws, settings.table_name),
        stepfunctions=aws.client("stepfunctions"),
        state_machine_arn=settings.state_machine_arn,
        departments=list(load_triage_policy().roster),
        time_scale=settings.time_scale,
        clock=clock,
        files=_files(settings, aws),
    )
