"""What CloudFormation creates for the files complainants send (a private bucket the conversation function
alone signs uploads to) and for receiving email, read from the transformed template: a private bucket
only SES (this account's rule set) writes to, a receipt rule that stores each email and then invokes the
email intake function, the permission SES needs to invoke it, a dead-letter queue with its alarm; and none
of it when the stack is deployed with EmailReceiving=Disabled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.transform import Evaluator, resources, transformed

pytestmark = pytest.mark.xdist_group("deploy-template")
RECEIVING = (
    "InboundMailBucket",
    "InboundMailBucketPolicy",
    "ReceiptRuleSet",
    "ReceiptRule",
    "InboundMailDeadLetters",
    "EmailIntakeFunctionSesPermission",
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed()


def _only(template: dict[str, Any], kind: str, logical_id: str | None = None) -> dict[str, Any]:
    found = resources(template, kind)
    (props,) = [found[logical_id]["Properties"]] if logical_id else [r["Properties"] for r in found.values()]
    return Evaluator(template).value(props)


def test_the_mail_bucket_is_private_encrypted_and_expires_mail_after_the_retention(template):
    bucket = _only(template, "AWS::S3::Bucket", "InboundMailBucket")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Prefix"], rule["Status"], str(rule["ExpirationInDays"])) == ("inbound/", "Enabled", "1096")


def test_only_this_accounts_rule_set_may_write_to_the_bucket_and_only_over_tls(template):
    policy = _only(template, "AWS::S3::BucketPolicy", "InboundMailBucketPolicy")["PolicyDocument"]
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert (allow["Effect"], allow["Action"], allow["Resource"]) == (
        "Allow",
        "s3:PutObject",
        "<InboundMailBucket.Arn>/inbound/*",
    )
    assert allow["Condition"]["StringEquals"] == {"AWS:SourceAccount": "123456789012"}
    assert allow["Condition"]["ArnLike"] == {
        "AWS:SourceArn": "arn:aws:ses:us-east-1:123456789012:receipt-rule-set/<ReceiptRuleSet>:receipt-rule/*"
    }
    assert (deny["Effect"], deny["Principal"], deny["Condition"]) == (
        "Deny",
        "*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def test_the_rule_stores_each_email_then_invokes_intake_asynchronously(template):
    rule = _only(template, "AWS::SES::ReceiptRule")
    assert rule["RuleSetName"] == "<ReceiptRuleSet>"
    body = rule["Rule"]
    assert (body["Enabled"], body["ScanEnabled"], body["TlsPolicy"]) == (True, True, "Require")
    assert body["Recipients"] == ["example.com"]  # SenderEmail's domain: the address and its reply addresses
    store, invoke = body["Actions"]
    assert store["S3Action"] == {"BucketName": "<InboundMailBucket>", "ObjectKeyPrefix": "inbound/"}
    assert invoke["LambdaAction"] == {"FunctionArn": "<EmailIntakeFunction.Arn>", "InvocationType": "Event"}
    depends = template["Resources"]["ReceiptRule"]["DependsOn"]
    assert set(depends) == {"InboundMailBucketPolicy", "EmailIntakeFunctionSesPermission"}


def test_ses_may_invoke_the_function_for_this_accounts_rule_set_only(template):
    permission = Evaluator(template).value(
        template["Resources"]["EmailIntakeFunctionSesPermission"]["Properties"]
    )
    assert permission == {
        "FunctionName": "<EmailIntakeFunction.Arn>",
        "Action": "lambda:InvokeFunction",
        "Principal": "ses.amazonaws.com",
        "SourceAccount": "123456789012",
        "SourceArn": "arn:aws:ses:us-east-1:123456789012:receipt-rule-set/<ReceiptRuleSet>:receipt-rule/*",
    }


def test_the_function_reads_the_prefix_the_rule_writes_and_dead_letters_go_to_an_alarmed_queue(template):
    function = Evaluator(template).value(template["Resources"]["EmailIntakeFunction"]["Properties"])
    env = function["Environment"]["Variables"]
    assert (env["INBOUND_BUCKET"], env["INBOUND_PREFIX"]) == ("<InboundMailBucket>", "inbound/")
    assert function["DeadLetterConfig"] == {"TargetArn": "<InboundMailDeadLetters.Arn>"}
    alarm = Evaluator(template).value(template["Resources"]["InboundMailDeadLettersAlarm"]["Properties"])
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        1,
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "<InboundMailDeadLetters.QueueName>"}]


def test_with_receiving_disabled_nothing_of_it_is_created():
    disabled = transformed(EmailReceiving="Disabled")
    evaluator = Evaluator(disabled, EmailReceiving="Disabled")
    created = {
        name: res["Type"]
        for name, res in disabled["Resources"].items()
        if "Condition" not in res or evaluator.condition(res["Condition"])
    }
    assert not set(created) & set(RECEIVING)
    assert set(RECEIVING) <= set(transformed()["Resources"])
    assert not [name for name in created if name.startswith("EmailIntakeFunction")]
    assert "EmailIntakeFunction" in transformed()["Resources"]


def test_the_files_bucket_is_private_encrypted_tls_only_and_keeps_files_for_the_retention(template):
    bucket = _only(template, "AWS::S3::Bucket", "AttachmentsBucket")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    expire, abort = bucket["LifecycleConfiguration"]["Rules"]
    assert (expire["Prefix"], str(expire["ExpirationInDays"])) == ("uploads/", "1096")
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (deny,) = _only(template, "AWS::S3::BucketPolicy", "AttachmentsBucketPolicy")["PolicyDocument"][
        "Statement"
    ]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    # Uploads are signed by the conversation function; email intake keeps attachments; no one else writes.
    assert _writers(transformed(MalwareScanning="Enabled")) == {
        "ConversationFunctionRole",
        "EmailIntakeFunctionRole",
    }


def _writers(template: dict[str, Any]) -> set[str]:
    """The roles allowed s3:PutObject on the files (tagging them, GuardDuty's, is not writing)."""
    found = set()
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in Evaluator(template).value(role["Properties"]).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                if "s3:PutObject" in actions and "<AttachmentsBucket.Arn>/uploads/*" in str(
                    statement["Resource"]
                ):
                    found.add(name)
    return found


def test_malware_scanning_is_an_option_that_scans_and_tags_the_files():
    plans = resources(transformed(), "AWS::GuardDuty::MalwareProtectionPlan")
    assert [plan["Condition"] for plan in plans.values()] == ["ScansMalware"]  # off by default
    enabled = transformed(MalwareScanning="Enabled")
    plan = _only(enabled, "AWS::GuardDuty::MalwareProtectionPlan")
    assert plan["ProtectedResource"] == {
        "S3Bucket": {"BucketName": "<AttachmentsBucket>", "ObjectPrefixes": ["uploads/"]}
    }
    assert (plan["Role"], plan["Actions"]) == ("<MalwareScanRole.Arn>", {"Tagging": {"Status": "ENABLED"}})
    role = Evaluator(enabled).value(enabled["Resources"]["MalwareScanRole"]["Properties"])
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "malware-protection-plan.guardduty.amazonaws.com"}
    evaluator = Evaluator(transformed(), MalwareScanning="Disabled")
    assert not evaluator.condition("ScansMalware")
