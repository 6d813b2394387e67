"""The embedded local stack: moto as the AWS endpoint, template.yaml's resources created on it, the real
handlers run in-process for Lambda invokes and API requests, and a mailbox of every email sent.

Over 400 lines: the embedded stack's life (ports, provisioning from the template, the servers, Ctrl-C) is
one sequence."""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import secrets
import selectors
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import ClosingIterator

from infra import mailbox, moto_hooks, template
from infra.config import StackConfig, ensure_free
from infra.gateway import Gateway, QuietRequestHandler
from infra.lambdas import Credentials, FunctionRuntime, HandlerError
from infra.smtp import SesReceiving, SmtpListener, dead_letter

log = logging.getLogger("infra")
ACCOUNT = template.ACCOUNT
_DUMMY_ZIP = io.BytesIO()
with zipfile.ZipFile(_DUMMY_ZIP, "w") as _zip:
    _zip.writestr("README.txt", "The embedded stack runs this function's handler in-process.")


def provision(
    tpl: template.LocalTemplate, client: Callable[[str], Any], extra_env: dict[str, str]
) -> dict[str, FunctionRuntime]:
    """Create the transformed template's resources on a moto endpoint and route its Lambda invokes to the
    handlers, each running with the credentials of its own execution role (enforced: moto_hooks, 7).

    `client(service)` makes a boto3 client for that endpoint (moto in server mode, or mock_aws in tests).
    Returns the function runtimes by logical id (their specs resolved with the physical ids made here)."""
    dynamodb = client("dynamodb")
    for spec in tpl.tables.values():
        props = spec.properties
        kwargs: dict[str, Any] = {
            "TableName": spec.logical_id,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("SSESpecification"):
            kwargs["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=spec.logical_id, TimeToLiveSpecification=ttl)

    physical = {}
    for name in tpl.secrets:
        created = client("secretsmanager").create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        physical[name] = created["ARN"]  # what Ref gives for a secret; known only once it exists
    tpl = tpl.bind(physical)

    ses = client("sesv2")
    for identity in tpl.email_identities:
        ses.create_email_identity(EmailIdentity=identity)

    iam = client("iam")
    unknown_policies: set[str] = set()
    for role in tpl.roles.values():
        iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))
        for policy_name, document in role.policies.items():
            # SAM's policy templates carry no Version; IAM takes that as 2008-10-17, moto refuses it. The two
            # differ only in policy variables, which these policies do not use.
            document = {"Version": "2012-10-17", **document}
            iam.put_role_policy(
                RoleName=role.name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
        for arn in role.managed_policy_arns:  # AWS managed (logs, X-Ray): attached where moto knows them
            if arn in unknown_policies:
                continue  # refused once: asking again costs moto an error answer per role
            try:
                iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)
            except iam.exceptions.NoSuchEntityException:
                unknown_policies.add(arn)

    sts = client("sts")
    lam = client("lambda")
    runtimes: dict[str, FunctionRuntime] = {}
    for spec in tpl.functions.values():
        role = tpl.roles[spec.role]
        arn = lam.create_function(
            FunctionName=spec.logical_id,
            Runtime="python3.12",
            Role=role.arn,
            Handler=spec.handler,
            Code={"ZipFile": _DUMMY_ZIP.getvalue()},
            Timeout=spec.timeout,
        )["FunctionArn"]
        assumed = sts.assume_role(RoleArn=role.arn, RoleSessionName=spec.logical_id, DurationSeconds=43200)
        credentials = Credentials(
            assumed["Credentials"]["AccessKeyId"],
            assumed["Credentials"]["SecretAccessKey"],
            assumed["Credentials"]["SessionToken"],
        )
        moto_hooks.register_function_credentials(spec.logical_id, credentials.access_key_id)
        runtime = FunctionRuntime(spec, arn, extra_env, credentials, tpl.region)
        runtimes[spec.logical_id] = runtime
        moto_hooks.register_function(spec.logical_id, lambda _name, event, rt=runtime: rt.invoke(event))

    s3 = client("s3")
    for bucket in tpl.buckets.values():
        s3.create_bucket(
            Bucket=bucket,
            **(
                {}
                if tpl.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": tpl.region}}
            ),
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration=dict.fromkeys(
                ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
            ),
        )
    for queue in tpl.queues.values():
        client("sqs").create_queue(QueueName=queue)
    ses_v1 = client("ses")
    for rule_set in dict.fromkeys(rule.rule_set for rule in tpl.receipt_rules):
        ses_v1.create_receipt_rule_set(RuleSetName=rule_set)
        ses_v1.set_active_receipt_rule_set(RuleSetName=rule_set)  # what the README asks a deployer to do
    for rule in tpl.receipt_rules:
        ses_v1.create_receipt_rule(
            RuleSetName=rule.rule_set,
            Rule={
                "Name": rule.name,
                "Enabled": True,
                "ScanEnabled": rule.scan,
                "Recipients": rule.recipients,
                "Actions": [
                    {"S3Action": {"BucketName": rule.bucket, "ObjectKeyPrefix": rule.prefix}},
                    {
                        "LambdaAction": {
                            "FunctionArn": runtimes[rule.function].arn,
                            "InvocationType": rule.invocation_type,
                        }
                    },
                ],
            },
        )

    sfn = client("stepfunctions")
    for machine in tpl.state_machines.values():
        sfn.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=tpl.roles[machine.role].arn,
            type=machine.type,
        )
    return runtimes


DEMO_RECORDS = Path(__file__).with_name("demo_records.yaml")


def seed_demo_records(table: Any) -> int:
    """The platform records that local investigations find as evidence (infra/demo_records.yaml), stored as
    the record store adapter reads them."""
    import yaml

    from complaints.adapters.dynamo.keys import record_key

    records = yaml.safe_load(DEMO_RECORDS.read_text(encoding="utf-8"))
    with table.batch_writer() as batch:
        for reference, record in records.items():
            batch.put_item(Item={**record_key(reference), "kind": "record", **record})
    return len(records)


STOP_GRACE_SECONDS = 10.0  # how long a stop waits for the requests in progress


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def freeze_survivors_of_full_collections() -> None:
    """What survives a full garbage collection is moved out of the collector's sight (`gc.freeze`).

    The stack's data is moto's, in this process: a table of 20,000 complaints is millions of objects, and
    each full collection walked them all while every request, timer and execution stood still (a burst of
    200 complaints: 4 full collections, 18 s). What survives a full collection is alive, and a table's items
    live on; later collections look only at what came after. The price: a reference cycle among frozen
    objects is never collected (their memory is freed by reference counting otherwise), acceptable for a
    stack that lives as long as a working session. Once per process."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


RETRY_AFTER_SECONDS = 5


class _Admission:
    """The gateway's WSGI app, counted: a stop lets the requests in progress finish, and answers the ones
    that come during it 503 with Retry-After, never a connection closed without an answer."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self._changed = threading.Condition()
        self._in_progress = 0
        self.closing = False

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        with self._changed:
            admitted = not self.closing
            self._in_progress += 1
        if not admitted:
            # Read what the client sends before answering: a socket closed with unread data sends a reset,
            # and the client may then lose the answer.
            Request(environ).get_data()
            response = Response(
                json.dumps({"message": "The local stack is stopping"}),
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                content_type="application/json",
            )
            return ClosingIterator(response(environ, start_response), [self._done])
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        # The server closes the body once every byte of the answer is written: the request is over then.
        return ClosingIterator(body, [self._done])

    def _done(self) -> None:
        with self._changed:
            self._in_progress -= 1
            self._changed.notify_all()

    # Connections, from their accept to their end: `waiting` ones have sent no request line yet (a browser
    # opens some ahead of need), `busy` ones have.
    waiting = busy = 0

    def accepted(self) -> None:
        with self._changed:
            self.waiting += 1

    def request_line_read(self) -> None:
        with self._changed:
            self.waiting -= 1
            self.busy += 1

    def connection_ended(self, busy: bool) -> None:
        with self._changed:
            if busy:
                self.busy -= 1
            else:
                self.waiting -= 1
            self._changed.notify_all()

    def connections_answered(self, timeout: float, idle_timeout: float) -> None:
        """After the port is closed: wait for the connections already accepted to be answered, up to
        `timeout` seconds, and for the ones that have sent nothing yet only up to `idle_timeout`."""
        started = time.monotonic()
        with self._changed:
            while (elapsed := time.monotonic() - started) < timeout:
                if not self.busy and (not self.waiting or elapsed >= idle_timeout):
                    return
                self._changed.wait(0.02)

    @property
    def in_progress(self) -> int:
        return self._in_progress

    def close(self, timeout: float, hurry: Callable[[], bool] = lambda: False) -> int:
        """Admit no more requests; wait up to `timeout` seconds (or until `hurry()`) for the ones in
        progress. Returns how many are still running."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self.closing = True
            while self._in_progress and not hurry() and (left := deadline - time.monotonic()) > 0:
                # In short steps: the main thread runs the signal handlers (a second Ctrl-C) between them.
                self._changed.wait(min(left, 0.1))
            return self._in_progress


class _GatewayServer(ThreadedWSGIServer):
    """werkzeug's threaded server, its connections counted from their accept (see _Admission)."""

    def __init__(self, host: str, port: int, admission: _Admission) -> None:
        busy = self.busy = set()

        class Handler(QuietRequestHandler):
            def parse_request(self) -> bool:
                if self.request not in busy:
                    busy.add(self.request)
                    admission.request_line_read()
                return super().parse_request()

        self.admission = admission
        super().__init__(host, port, admission, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.admission.accepted()
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """The connection's end: the answer is written and the socket closed."""
        super().shutdown_request(request)
        was_busy = request in self.busy
        self.busy.discard(request)
        self.admission.connection_ended(was_busy)


class EmbeddedStack:
    def __init__(self, config: StackConfig):
        self.config = config
        self.template = template.load(
            config.template_path, config.region, parameters=config.parameters, api_endpoint=config.base_url
        )
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._moto = None
        self._http = None
        self._admission: _Admission | None = None
        self._serving = threading.Event()
        self._gateway_thread: threading.Thread | None = None
        self._smtp: SmtpListener | None = None
        # Stands in for IAM on the ops routes: printed in the banner, new at every start.
        self.ops_token = os.environ.get("OPS_TOKEN") or secrets.token_urlsafe(24)

    @property
    def base_url(self) -> str:
        """The stack's root: /health and the local pages."""
        return self.config.base_url

    @property
    def api_url(self) -> str:
        """The API as API Gateway serves it: under its stage."""
        return f"{self.base_url}/{self.template.stage}"

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        cfg = self.config
        ensure_free(cfg.host, cfg.aws_port, "AWS endpoint")
        ensure_free(cfg.host, cfg.port, "HTTP gateway")
        if self.template.receipt_rules:
            ensure_free(cfg.host, cfg.smtp_port, "SMTP, email intake")
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": cfg.aws_endpoint,
                "AWS_DEFAULT_REGION": cfg.region,
                "MOTO_PORT": str(cfg.aws_port),  # moto's ASL interpreter calls Lambda here
            }
        )
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        for noisy in ("werkzeug", "botocore", "urllib3", "mail.log"):  # mail.log: aiosmtpd's
            logging.getLogger(noisy).setLevel(logging.WARNING)
        moto_hooks.install()
        freeze_survivors_of_full_collections()
        if os.environ.get("IAM_RECORD_FILE"):  # every permission check of the functions, for review
            moto_hooks.record_to(os.environ["IAM_RECORD_FILE"])
        self._moto = moto_hooks.start_server(cfg.host, cfg.aws_port)
        self._configure_moto()
        self._create_resources()
        self._start_gateway()
        self._start_smtp()
        self._start_schedules()
        self.ready.set()

    @property
    def requests_in_progress(self) -> int:
        return self._admission.in_progress if self._admission is not None else 0

    def stop(self, grace: float = STOP_GRACE_SECONDS, hurry: Callable[[], bool] = lambda: False) -> None:
        """Stop as a server should: the gateway admits no new request (503 with Retry-After), lets the ones
        in progress finish (up to `grace` seconds, or until `hurry()`), stops listening, then moto stops.
        Idle, this takes a fraction of a second."""
        self._stop.set()
        if self._http is not None and self._admission is not None:
            left = self._admission.close(grace, hurry)
            if left:
                log.warning("stopping with %d request(s) still in progress", left)
            self._serving.clear()
            self._gateway_thread.join(timeout=5)
            self._answer_waiting_connections()
            self._http.server_close()
            self._admission.connections_answered(timeout=1.0, idle_timeout=0.2)  # their 503s
        if self._smtp is not None:
            self._smtp.stop()
        if self._moto is not None:
            self._moto.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def _serve(self) -> None:
        """The gateway's serve loop. Not werkzeug's serve_forever: that closes the listening socket as it
        ends, and the connections waiting to be accepted then would be reset instead of answered."""
        self._http.timeout = 0.1  # a stop is noticed within a tenth of a second
        while self._serving.is_set():
            self._http.handle_request()

    def _answer_waiting_connections(self) -> None:
        """Connections the kernel accepted after the serve loop's last turn are answered (503) rather than
        reset when the listening socket closes."""
        self._http.timeout = 0
        deadline = time.monotonic() + 1.0  # bounded, should they keep coming
        with selectors.DefaultSelector() as waiting:
            waiting.register(self._http.socket, selectors.EVENT_READ)
            while waiting.select(timeout=0) and time.monotonic() < deadline:
                self._http.handle_request()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.config.aws_endpoint,
            region_name=self.config.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
        )

    # ------------------------------------------------------------ setup
    def _configure_moto(self) -> None:
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
            f"{self.config.aws_endpoint}/moto-api/config",
            data=json.dumps(
                {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback endpoint
            answer.read()

    def _create_resources(self) -> None:
        extra_env = {
            "AWS_ENDPOINT_URL": self.config.aws_endpoint,
            # Only the embedded stack has a mailbox; the ops console links to it when this is set.
            "LOCAL_MAILBOX_URL": f"{self.config.base_url}/_local/mailbox",
            "TIME_SCALE": str(self.config.time_scale),
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        self.runtimes = provision(self.template, self.client, extra_env)
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=self.config.aws_endpoint,
            region_name=self.config.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
        )
        for table in self.template.tables:
            seed_demo_records(resource.Table(table))

    def _start_gateway(self) -> None:
        gateway = Gateway(self.runtimes, self.template.stages, ops_token=self.ops_token)
        gateway.add_local("/health", self._health)
        gateway.add_local("/_local/mailbox", self._mailbox)
        gateway.add_local("/_local/stack", self._outputs)
        gateway.add_local("/_local/faults", self._faults)
        self._admission = _Admission(gateway)
        self._http = _GatewayServer(self.config.host, self.config.port, self._admission)
        self._serving.set()
        self._gateway_thread = threading.Thread(target=self._serve, name="gateway", daemon=True)
        self._gateway_thread.start()

    def _start_smtp(self) -> None:
        """SES receiving, when the template receives email: the receipt rules behind an SMTP port."""
        if not self.template.receipt_rules:
            return
        s3 = self.client("s3")

        def store(bucket: str, key: str, raw: bytes) -> None:
            s3.put_object(Bucket=bucket, Key=key, Body=raw)

        receiving = SesReceiving(
            self.template.receipt_rules,
            store,
            lambda function, event: self.runtimes[function].invoke(event),
            lambda function, event, error: dead_letter(self.runtimes[function], event, error),
            lambda function: self.runtimes[function].arn,
        )
        self._smtp = SmtpListener(receiving, self.config.host, self.config.smtp_port)
        self._smtp.start()

    @property
    def smtp_address(self) -> str | None:
        return f"{self.config.host}:{self.config.smtp_port}" if self.template.receipt_rules else None

    def _start_schedules(self) -> None:
        for runtime in self.runtimes.values():
            if runtime.spec.schedule_seconds:
                interval = max(5.0, runtime.spec.schedule_seconds / self.config.time_scale)
                thread = threading.Thread(
                    target=self._run_schedule,
                    args=(runtime, interval),
                    name=runtime.spec.logical_id,
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def _run_schedule(self, runtime: FunctionRuntime, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                runtime.invoke({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}})
            except HandlerError as error:
                log.error("scheduled %s failed: %s", runtime.spec.logical_id, error.payload["errorType"])

    # ------------------------------------------------------------ local pages
    def _health(self, _: Request) -> Response:
        status = 200 if self.ready.is_set() else 503
        body = {"status": "ok" if status == 200 else "starting", "awsEndpoint": self.config.aws_endpoint}
        return Response(json.dumps(body), status=status, content_type="application/json")

    def outputs(self) -> dict[str, str]:
        """What `sam deploy` prints as the stack's outputs, for the local stack (the CLI reads these)."""
        cfg = self.config
        machine = next(iter(self.template.state_machines.values()))
        table = next(iter(t for t in self.template.tables if t == "CasesTable"))
        return {
            "ApiUrl": self.api_url,
            "FormUrl": f"{self.api_url}/",
            "OpsConsoleUrl": f"{self.api_url}/ops",
            "CasesTableName": table,
            "StateMachineArn": f"arn:aws:states:{cfg.region}:{ACCOUNT}:stateMachine:{machine.name}",
            "AwsEndpoint": cfg.aws_endpoint,
            "MailboxUrl": f"{cfg.base_url}/_local/mailbox",
            **({"SmtpAddress": self.smtp_address} if self.smtp_address else {}),
            "ComplaintsEmail": self.template.parameters.get("SenderEmail", ""),
            "Region": cfg.region,
            "TimeScale": f"{cfg.time_scale:g}",
        }

    def _faults(self, request: Request) -> Response:
        """POST {"operation": "SendTaskSuccess", "error": "ThrottlingException", "count": 5}: the next calls
        of that AWS operation fail so (moto_hooks, 9), to see what the product does then; with
        "function": "TriageFunction", a DynamoDB operation's faults hit only that function's calls; with
        "after": 2, once that many of its calls went through."""
        if request.method != "POST":
            return Response(status=405, headers={"Allow": "POST"})
        try:
            body = json.loads(request.get_data() or b"{}")
            moto_hooks.inject_fault(
                body["operation"],
                body["error"],
                int(body.get("count", 1)),
                body.get("function"),
                int(body.get("after", 0)),
            )
        except (ValueError, KeyError, TypeError) as error:
            return Response(json.dumps({"message": str(error)}), status=400, content_type="application/json")
        return Response(json.dumps({"armed": body}), status=200, content_type="application/json")

    def _outputs(self, _: Request) -> Response:
        return Response(json.dumps(self.outputs()), content_type="application/json")

    def _mailbox(self, request: Request) -> Response:
        accept = request.headers.get("Accept", "")
        if "text/html" in accept and "application/json" not in accept:
            return Response(
                mailbox.page(ACCOUNT, self.config.region), content_type="text/html; charset=utf-8"
            )
        after = request.args.get("after", "0")
        body = {
            "messages": mailbox.messages(ACCOUNT, self.config.region, int(after) if after.isdigit() else 0)
        }
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8")

    # ------------------------------------------------------------ banner
    def banner(self) -> str:
        cfg = self.config
        machine = next(iter(self.template.state_machines.values()))
        machine_arn = f"arn:aws:states:{cfg.region}:{ACCOUNT}:stateMachine:{machine.name}"
        sender = self.template.parameters.get("SenderEmail", "")
        example = json.dumps(
            {
                "customer": {"email": "li.wei@example.com", "locale": "zh-CN"},
                "channel": "api",
                "description": "提现三天还没到账 / my withdrawal has not arrived after 3 days",
                "amount": {"value": "150.00", "currency": "CNY"},
            },
            ensure_ascii=False,
        )
        return "\n".join(
            [
                "",
                "Complaints — embedded local stack is up (no AWS account used).",
                f"  Complaint form   {self.api_url}/",
                f"  API docs         {self.api_url}/swagger",
                f"  Mailbox          {cfg.base_url}/_local/mailbox",
                *(
                    [f"  Email intake     smtp://{self.smtp_address}  (mail to {sender})"]
                    if self.smtp_address
                    else []
                ),
                f"  Ops console      {self.api_url}/ops?token={self.ops_token}",
                "  Ops CLI          .venv/bin/complaints --local queue   (see README)",
                f"  Health           {cfg.base_url}/health",
                f"  AWS endpoint     {cfg.aws_endpoint}  (region {cfg.region}, any credentials)",
                f"  Time scale       {cfg.time_scale:g} policy seconds per real second",
                "",
                "Try:",
                f"  curl -s -X POST {self.api_url}/complaints -H 'Content-Type: application/json' \\",
                f"       -d '{example}'",
                f"  aws --endpoint-url {cfg.aws_endpoint} --region {cfg.region} \\",
                "      stepfunctions list-executions \\",
                f"      --state-machine-arn {machine_arn}",
                "",
                "Ctrl-C stops it. The data lives in memory only: every case and email is gone when it stops.",
                "",
            ]
        )
