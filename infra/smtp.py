"""SES receiving, locally: an SMTP listener (aiosmtpd) that does with each email what the template's receipt
rules have SES do.

- A recipient no rule matches is refused at RCPT (550), as SES refuses mail for addresses no active rule
  covers.
- An accepted email gets an SES message id; each matching rule stores the raw message in its bucket under
  its prefix and that id (S3 of the moto endpoint), then invokes its function with SES's event for the
  rule ("Event": asynchronously; the SMTP client has its 250 before the function runs).
- As Lambda does with an asynchronous invoke, a failed invocation is tried twice more, then its event goes to
  the function's dead-letter queue (when it has one) with the error in its attributes.

No spam or virus scan runs here: the verdicts are PASS (SPF, DKIM and DMARC: GRAY, nothing to check)."""

from __future__ import annotations

import json
import logging
import secrets
import string
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

from aiosmtpd.controller import Controller

from infra.lambdas import FunctionRuntime, HandlerError
from infra.template import ReceiptRuleSpec

log = logging.getLogger("infra.smtp")
ASYNC_ATTEMPTS = 3  # Lambda's asynchronous invoke: the first try and two retries
RETRY_PAUSES = (1.0, 2.0)  # Lambda waits a minute, then two; locally seconds
_ID_ALPHABET = string.ascii_lowercase + string.digits
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SES's limit for a received email (40 MB)


def new_message_id() -> str:
    """An id in the form SES gives received mail: 40 lower-case letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(40))


def ses_event(
    mail_id: str, raw: bytes, sender: str, destination: list[str], rule: ReceiptRuleSpec, function_arn: str
) -> dict[str, Any]:
    """The event SES sends a Lambda action (ses.mail's common headers as SES fills them)."""
    message = message_from_bytes(raw, policy=email_policy.compat32)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def addresses(header: str) -> list[str]:
        return [str(v) for v in message.get_all(header, [])]

    pass_ = {"status": "PASS"}
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now,
                        "source": sender,
                        "messageId": mail_id,
                        "destination": destination,
                        "headersTruncated": False,
                        "headers": [{"name": k, "value": str(v)} for k, v in message.items()],
                        "commonHeaders": {
                            "returnPath": sender,
                            "from": addresses("From"),
                            "to": addresses("To"),
                            "messageId": str(message["Message-ID"] or ""),
                            "date": str(message["Date"] or ""),
                            "subject": str(message["Subject"] or ""),
                        },
                    },
                    "receipt": {
                        "timestamp": now,
                        "processingTimeMillis": 1,
                        "recipients": [r for r in destination if rule.matches(r)],
                        "spamVerdict": pass_,
                        "virusVerdict": pass_,
                        "spfVerdict": {"status": "GRAY"},
                        "dkimVerdict": {"status": "GRAY"},
                        "dmarcVerdict": {"status": "GRAY"},
                        "action": {
                            "type": "Lambda",
                            "functionArn": function_arn,
                            "invocationType": rule.invocation_type,
                        },
                    },
                },
            }
        ]
    }


class SesReceiving:
    """aiosmtpd's handler: the receipt rules applied to each email.

    `store(bucket, key, raw)` writes to S3; `invoke(function, event)` runs a function (raises HandlerError);
    `dead_letter(function, event, error)` keeps an event whose invocations all failed."""

    def __init__(
        self,
        rules: list[ReceiptRuleSpec],
        store: Callable[[str, str, bytes], None],
        invoke: Callable[[str, dict[str, Any]], Any],
        dead_letter: Callable[[str, dict[str, Any], HandlerError], None],
        function_arn: Callable[[str], str],
        pauses: tuple[float, ...] = RETRY_PAUSES,
    ):
        self.rules = rules
        self._store = store
        self._invoke = invoke
        self._dead_letter = dead_letter
        self._function_arn = function_arn
        self._pauses = pauses
        self.deliveries: list[threading.Thread] = []

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if not any(rule.matches(address) for rule in self.rules):
            return "550 5.1.1 Requested action not taken: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw: bytes = envelope.original_content or envelope.content
        mail_id = new_message_id()
        destination = list(envelope.rcpt_tos)
        for rule in self.rules:
            if not any(rule.matches(r) for r in destination):
                continue
            self._store(rule.bucket, f"{rule.prefix}{mail_id}", raw)
            event = ses_event(
                mail_id, raw, envelope.mail_from, destination, rule, self._function_arn(rule.function)
            )
            thread = threading.Thread(
                target=self._deliver, args=(rule.function, event), name=f"ses-{mail_id[:8]}", daemon=True
            )
            thread.start()
            # The ones still running (a test joins them); finished ones are let go, the stack runs for hours.
            self.deliveries = [t for t in self.deliveries if t.is_alive()] + [thread]
        return f"250 Ok {mail_id}"

    def _deliver(self, function: str, event: dict[str, Any]) -> None:
        for attempt in range(ASYNC_ATTEMPTS):
            try:
                self._invoke(function, event)
                return
            except HandlerError as error:
                log.error(
                    "%s failed on an email (attempt %d): %s",
                    function,
                    attempt + 1,
                    error.payload["errorType"],
                )
                if attempt == ASYNC_ATTEMPTS - 1:
                    try:
                        self._dead_letter(function, event, error)
                    except Exception:  # as Lambda does when its dead-letter queue refuses: the event is gone
                        log.exception("%s: the dead-letter queue refused an email's event", function)
                    return
                time.sleep(self._pauses[min(attempt, len(self._pauses) - 1)])


def dead_letter(runtime: FunctionRuntime, event: dict[str, Any], error: HandlerError) -> None:
    """What Lambda does with an asynchronous event whose tries all failed: send it to the function's
    dead-letter queue, with the function's own role (the reason SAM grants it sqs:SendMessage), the error
    in the message's attributes. Without a queue the event is dropped, as on AWS."""
    target = runtime.spec.dead_letter_arn
    if not target:
        log.error(
            "%s: an event dropped after %d failed tries (no dead-letter queue)",
            runtime.spec.logical_id,
            ASYNC_ATTEMPTS,
        )
        return
    sqs = runtime.session.client("sqs")
    *_, account, name = target.split(":")
    queue = f"{sqs.meta.endpoint_url}/{account}/{name}"  # Lambda knows it: no sqs:GetQueueUrl in the role
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": "local"},
        "ErrorCode": {"DataType": "String", "StringValue": error.payload["errorType"]},
        "ErrorMessage": {"DataType": "String", "StringValue": error.payload["errorMessage"][:1000] or "-"},
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event), MessageAttributes=attributes)


class SmtpListener:
    """The listener on its port, in a thread of its own (aiosmtpd's controller)."""

    def __init__(self, receiving: SesReceiving, host: str, port: int):
        self.receiving = receiving
        self._controller = Controller(
            receiving, hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES, ready_timeout=10
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
