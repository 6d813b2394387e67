"""Which deployment the CLI talks to: a CloudFormation stack on AWS (its outputs name the API, table and
state machine), or the embedded stack of `make run` (its /_local/stack page names the same things)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from complaints import wiring
from complaints.adapters.ops import OpsQueries
from complaints.core.settings import Settings

DEFAULT_LOCAL_URL = "http://127.0.0.1:3000"
OPS_AUTH_HELP = (
    "The ops routes of the embedded stack take its ops token: set OPS_TOKEN to the token of the ops console "
    "link `make run` printed (Ops console  http://…/ops?token=…)."
)


class TargetError(Exception):
    """The CLI cannot reach what it was pointed at; the message says what to do."""


@dataclass(frozen=True)
class Target:
    api_url: str
    table_name: str
    state_machine_arn: str
    region: str
    endpoint: str | None = None  # the local AWS endpoint; None on AWS
    mailbox_url: str | None = None  # the embedded stack's mailbox; None on AWS
    time_scale: float = 1.0

    @property
    def local(self) -> bool:
        return self.endpoint is not None

    def client(self, service: str, **kwargs: Any) -> Any:
        return _session(self).client(service, endpoint_url=self.endpoint, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        return _session(self).resource(service, endpoint_url=self.endpoint, **kwargs)

    def table(self) -> Any:
        return self.resource("dynamodb").Table(self.table_name)

    @cached_property
    def settings(self) -> Settings:
        """The settings the deployment's functions run with, as far as the CLI needs them."""
        return Settings.from_environment(
            os.environ,
            table_name=self.table_name,
            state_machine_arn=self.state_machine_arn,
            time_scale=self.time_scale,
        )

    @cached_property
    def queries(self) -> OpsQueries:
        return wiring.ops_queries(self.settings, aws=self)

    def post_to_ops(self, path: str, document: dict[str, Any]) -> requests.Response:
        """POST JSON to one of the API's ops routes (AWS_IAM auth): on AWS signed with SigV4 with the
        default credentials, whose principal the route records; on the embedded stack with its ops token
        (OPS_TOKEN), which stands for the stack's ops user there."""
        url = f"{self.api_url}{path}"
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.local:
            token = os.environ.get("OPS_TOKEN", "").strip()
            if not token:
                raise TargetError(OPS_AUTH_HELP)
            headers["Authorization"] = f"Bearer {token}"
        else:
            from complaints_cli.console import load_credentials

            credentials = load_credentials(_session(self)).get_frozen_credentials()
            request = AWSRequest(method="POST", url=url, data=body, headers=headers)
            SigV4Auth(credentials, "execute-api", self.region).add_auth(request)
            headers = dict(request.headers.items())
        return requests.post(url, data=body, headers=headers, timeout=30)


def _session(target: Target) -> boto3.Session:
    if target.local:
        # The embedded stack takes any credentials.
        return boto3.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's placeholder, not a secret
            region_name=target.region,
        )
    return boto3.Session(region_name=target.region)


def local(url: str) -> Target:
    """The embedded stack answering at `url` (`make run`)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_local/stack", timeout=30) as answer:  # noqa: S310
            outputs = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise TargetError(
            f"No embedded stack answers at {url}. Start it with `make run` (or pass --local-url)."
        ) from error
    return Target(
        api_url=outputs["ApiUrl"],
        table_name=outputs["CasesTableName"],
        state_machine_arn=outputs["StateMachineArn"],
        region=outputs["Region"],
        endpoint=outputs["AwsEndpoint"],
        mailbox_url=outputs["MailboxUrl"],
        time_scale=float(outputs.get("TimeScale", 1)),
    )


def aws(stack: str, region: str | None) -> Target:
    """The deployed CloudFormation stack `stack`, with the default credentials."""
    try:
        session = boto3.Session(region_name=region)
        if session.region_name is None:
            raise NoRegionError()
        found = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except NoCredentialsError as error:
        raise TargetError(
            "No AWS credentials found. Configure them (aws configure, AWS_PROFILE or the AWS_* variables), "
            "or use --local for the embedded stack."
        ) from error
    except NoRegionError as error:
        raise TargetError("No AWS region set. Pass --region or set AWS_DEFAULT_REGION.") from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ValidationError" and "does not exist" in message:
            raise TargetError(
                f"No stack named {stack!r} in {session.region_name}. Deploy it (sam deploy --guided), "
                "pass --stack, or use --local."
            ) from error
        raise TargetError(f"AWS refused: {code}: {message}") from error
    except BotoCoreError as error:
        raise TargetError(f"Cannot reach AWS: {error}") from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    missing = {"ApiUrl", "CasesTableName", "StateMachineArn"} - set(outputs)
    if missing:
        raise TargetError(
            f"Stack {stack!r} is not a complaints stack (no output {', '.join(sorted(missing))})."
        )
    return Target(
        api_url=outputs["ApiUrl"].rstrip("/"),
        table_name=outputs["CasesTableName"],
        state_machine_arn=outputs["StateMachineArn"],
        region=session.region_name,
    )
