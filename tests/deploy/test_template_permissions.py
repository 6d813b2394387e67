"""Each function's role allows exactly the calls its code makes, on exactly the resources it makes them on.

The expected grants below were read from the code each handler runs (functions/*/ and the layer's
complaints/ package: repository.py, ops.py, resolution.py, workflow.py, mail.py, wiring.py):

- A DynamoDB transaction (TransactWriteItems) is authorized as the PutItem, UpdateItem, DeleteItem or
  ConditionCheckItem of each of its items; the code's transactions hold Put and Update items only.
- A Query on a global secondary index needs the index's ARN (`<table ARN>/index/<name>`).
- Mail goes through SES v2 SendEmail with raw MIME content, which SES authorizes as ses:SendRawEmail
  (ses:SendEmail for simple content), on the sender's identity: an address, or the domain it belongs to.
- SendTaskSuccess has no resource type in IAM (the task token names the execution): "*" is the only
  resource it can have.

Besides these, every role has the two AWS managed policies SAM attaches: basic execution (logs) and
X-Ray writes (Tracing: Active)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.transform import Evaluator, resources, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")

CASES = "<CasesTable.Arn>"
LEDGER = "<LedgerTable.Arn>"
MACHINE = "<ComplaintStateMachine>"  # Ref of a state machine: its ARN
EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:<ComplaintStateMachine.Name>:*"
SECRET = "<LinkSigningSecret>"  # Ref of a secret: its ARN
SENDER = "arn:aws:ses:us-east-1:123456789012:identity/complaints@example.com"
FILES = "<AttachmentsBucket.Arn>/uploads/*"


def _index(name: str) -> str:
    return f"{CASES}/index/{name}"


def _mail() -> dict[str, set[str]]:
    return {"ses:SendRawEmail": {SENDER}, "ses:SendEmail": {SENDER}}


EXPECTED: dict[str, dict[str, set[str]]] = {
    # POST /complaints: the case, its event and the intake claim in one transaction (Put, and an Update
    # of the day's counters); a repeat reads the claim; StartExecution; the start recorded (Update, Put).
    # GET /complaints/{id}: the case and its timeline (Query).
    "IntakeApiFunction": {
        "dynamodb:GetItem": {CASES},
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "states:StartExecution": {MACHINE},
    },
    # An email SES stored (GetObject); then as intake (a new case), or the conversation: the case and its
    # messages (Query), the message's transaction or the held email (Put, Update), a sent email's case
    # (GetItem); the reply addresses' key at cold start.
    "EmailIntakeFunction": {
        "s3:GetObject": {"<InboundMailBucket.Arn>/inbound/*"},
        "s3:PutObject": {FILES},  # each attachment kept apart
        "dynamodb:GetItem": {CASES},
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "states:StartExecution": {MACHINE},
        "states:SendTaskSuccess": {"*"},  # a reply answers the wait for the complainant's answer
        "secretsmanager:GetSecretValue": {SECRET},
        "sqs:SendMessage": {"<InboundMailDeadLetters.Arn>"},  # SAM's, for the dead-letter queue
    },
    # The access code's hash (GetItem), the conversation and the chain (Query), the message's transaction;
    # the upload form signed as this role (the browser's POST is its s3:PutObject), the file read (and
    # HEAD), deleted when refused.
    "ConversationFunction": {
        "dynamodb:GetItem": {CASES},
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "s3:PutObject": {FILES},
        "s3:GetObject": {FILES},
        "s3:DeleteObject": {FILES},
        "states:SendTaskSuccess": {"*"},  # a message answers the wait for the complainant's answer
    },
    # The cases never started (GSI1), each started and recorded as intake does.
    "ReconcileFunction": {
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {_index("GSI1")},
        "dynamodb:UpdateItem": {CASES},
        "states:StartExecution": {MACHINE},
    },
    "AcknowledgeFunction": {
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "secretsmanager:GetSecretValue": {SECRET},  # the reply address's key, at cold start
        **_mail(),
    },
    # The customer's recent cases (GSI2), the roster (Query), the triage transaction, the link notice.
    "TriageFunction": {
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES, _index("GSI2")},
        "dynamodb:UpdateItem": {CASES},
        **_mail(),
    },
    # Hour counters (transaction of Updates, GetItem, BatchGetItem), examples, the alert claim (PutItem).
    "SpikeWatchFunction": {
        "dynamodb:BatchGetItem": {CASES},
        "dynamodb:GetItem": {CASES},
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        **_mail(),
    },
    # Evidence (records by GetItem, earlier complaints on GSI2), links (GetItem, transactions), the
    # signing key at cold start.
    "InvestigationFunction": {
        "dynamodb:GetItem": {CASES},
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES, _index("GSI2")},
        "dynamodb:UpdateItem": {CASES},
        "secretsmanager:GetSecretValue": {SECRET},
        "states:SendTaskSuccess": {"*"},  # a kept answer handed to the step's next task
        **_mail(),
    },
    # The ledger (PutItem, GetItem on a repeat), the archive record (PutItem), the roster (UpdateItem), the
    # customer's current link (GetItem).
    "RemedyFunction": {
        "dynamodb:GetItem": {CASES, LEDGER},
        "dynamodb:PutItem": {CASES, LEDGER},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "secretsmanager:GetSecretValue": {SECRET},
        **_mail(),
    },
    # The link (GetItem), the case page (Query), the answer once (UpdateItem), SendTaskSuccess. No mail.
    "TaskLinksFunction": {
        "dynamodb:GetItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        "secretsmanager:GetSecretValue": {SECRET},
        "states:SendTaskSuccess": {"*"},
        "s3:GetObject": {FILES},  # the page's download links, signed as this role
    },
    "RecordFailureFunction": {
        "dynamodb:PutItem": {CASES},
        "dynamodb:Query": {CASES},
        "dynamodb:UpdateItem": {CASES},
        **_mail(),
    },
    # Queues (GSI3), the watch list (GSI4), the report's counters (Query); executions and their history.
    "OpsFunction": {
        "dynamodb:Query": {CASES, _index("GSI3"), _index("GSI4")},
        "states:GetExecutionHistory": {EXECUTIONS},
        "states:ListExecutions": {MACHINE},
        "s3:GetObject": {FILES},  # the execution page's download links
    },
}
SAM_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(template: dict[str, Any], function: str, **params: str) -> dict[str, set[str]]:
    """action -> resources, from every statement of the function's role (besides SAM's managed policies)."""
    role = Evaluator(template, **params).value(template["Resources"][f"{function}Role"]["Properties"])
    found: dict[str, set[str]] = {}
    for policy in role.get("Policies", []):
        for statement in _statements(policy["PolicyDocument"]):
            assert statement["Effect"] == "Allow" and "Condition" not in statement, statement
            for action in _as_list(statement["Action"]):
                found.setdefault(action, set()).update(_as_list(statement["Resource"]))
    return found


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed()


def test_every_function_is_covered(template):
    assert set(EXPECTED) == set(resources(template, "AWS::Lambda::Function"))


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_the_role_allows_exactly_what_the_code_calls(template, function):
    assert grants(template, function) == EXPECTED[function]


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_the_role_has_the_managed_policies_sam_attaches(template, function):
    role = template["Resources"][f"{function}Role"]["Properties"]
    assert set(Evaluator(template).value(role["ManagedPolicyArns"])) == SAM_MANAGED


def test_mail_is_allowed_from_the_sender_domain_when_the_domain_is_the_verified_identity(template):
    """SenderIdentity names the verified SES identity (an address or a domain); empty means the address."""
    mail = {a: r for a, r in grants(template, "AcknowledgeFunction", SenderIdentity="example.com").items()}
    domain = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    assert mail["ses:SendRawEmail"] == mail["ses:SendEmail"] == {domain}
