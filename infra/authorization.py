"""What IAM checks for one AWS request: the actions and the resource ARNs that a policy must allow.

The embedded stack enforces each function's execution role (infra/moto_hooks.py, section 7); this module
says, for the services the functions call, which (action, resource) pairs AWS evaluates, as the Service
Authorization Reference lists them:

- DynamoDB: the table's ARN, or `table/<t>/index/<i>` for a Query or Scan of an index. TransactWriteItems
  and TransactGetItems are not IAM actions: each item is checked as its own PutItem, UpdateItem,
  DeleteItem, ConditionCheckItem or GetItem on its table.
- Step Functions: the state machine's ARN (StartExecution, ListExecutions, DescribeStateMachine), the
  execution's ARN (DescribeExecution, GetExecutionHistory, StopExecution); the task-token calls take no
  resource ("*").
- SES (v1 and v2 send calls): the identity the mail is sent as: the sender's address if that address is a
  verified identity, otherwise its domain. SES v2 SendEmail with raw content is ses:SendRawEmail.
- Secrets Manager: the secret's full ARN.
- S3: the bucket's ARN, or the object's (`arn:aws:s3:::<bucket>/<key>`), as moto's S3 names it.
- SQS: the queue's ARN, from the queue URL the request names (`.../<account>/<name>`).
Anything else is checked against "*".

A request may need several checks; it passes when each check's action is allowed on its resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass(frozen=True)
class Check:
    action: str  # service:Action, as in a policy
    resource: str


@dataclass(frozen=True)
class Request:
    service: str  # the signing name: dynamodb, states, ses, secretsmanager, ...
    action: str  # the API operation, e.g. TransactWriteItems
    region: str
    account: str
    body: dict[str, Any]
    resource: str = "*"  # what the service itself names (S3: the bucket's or object's ARN)


def _table_arn(request: Request, table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{request.region}:{request.account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(request: Request) -> list[Check]:
    body = request.body
    if request.action in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in body.get("TransactItems", []):
            ((kind, operation),) = item.items()
            checks.append(
                Check(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table_arn(request, operation["TableName"]))
            )
        return checks
    if request.action in ("BatchGetItem", "BatchWriteItem"):
        return [
            Check(f"dynamodb:{request.action}", _table_arn(request, t)) for t in body.get("RequestItems", {})
        ]
    if "TableName" in body:
        return [
            Check(f"dynamodb:{request.action}", _table_arn(request, body["TableName"], body.get("IndexName")))
        ]
    return [Check(f"dynamodb:{request.action}", "*")]


def _states(request: Request) -> list[Check]:
    body = request.body
    resource = body.get("stateMachineArn") or body.get("executionArn") or "*"
    return [Check(f"states:{request.action}", resource)]


def ses_identity_resources(request: Request, sender: str, verified: Callable[[str], bool]) -> list[Check]:
    """The identity SES sends as: the address if it is verified itself, else its domain if that is; with
    neither, the address (IAM lets the call through to SES, which refuses the unverified sender)."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    identity = domain if not verified(address) and verified(domain) else address
    arn = f"arn:aws:ses:{request.region}:{request.account}:identity/{identity}"
    return [Check(f"ses:{request.action}", arn)]


def checks(
    request: Request,
    verified_identity: Callable[[str], bool] = lambda _: True,
    secret_arn: Callable[[str], str] = lambda secret_id: secret_id,
) -> list[Check]:
    """The checks IAM makes for this request. `verified_identity(address)` says whether SES has that
    address as an identity of its own; `secret_arn(id)` gives a secret's full ARN."""
    if request.service == "dynamodb":
        return _dynamodb(request)
    if request.service == "states":
        return _states(request)
    if request.service == "ses" and request.action in ("SendEmail", "SendRawEmail"):
        sender = request.body.get("FromEmailAddress") or request.body.get("Source") or ""
        if "Raw" in (request.body.get("Content") or {}):
            # SES v2 SendEmail with raw MIME content is authorized as ses:SendRawEmail, as AWS answers
            # ("not authorized to perform `ses:SendRawEmail'" to a caller allowed only ses:SendEmail).
            request = Request(request.service, "SendRawEmail", request.region, request.account, request.body)
        if sender:
            return ses_identity_resources(request, sender, verified_identity)
    if request.service == "s3":
        return [Check(f"s3:{request.action}", request.resource)]
    if request.service == "sqs" and "QueueUrl" in request.body:
        account, name = str(request.body["QueueUrl"]).rstrip("/").split("/")[-2:]
        return [Check(f"sqs:{request.action}", f"arn:aws:sqs:{request.region}:{account}:{name}")]
    if request.service == "secretsmanager" and "SecretId" in request.body:
        return [Check(f"secretsmanager:{request.action}", secret_arn(request.body["SecretId"]))]
    return [Check(f"{request.service}:{request.action}", "*")]


def parse_body(raw: bytes | str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}
