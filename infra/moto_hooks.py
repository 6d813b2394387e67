"""Every place the embedded stack relies on moto internals, in one module.

tests/integration/test_moto_hooks.py exercises each of them, so a moto upgrade that breaks one fails
loudly there instead of quietly in `make run`.

1. Lambda invoke: with `{"lambda": {"use_docker": False}}` moto answers Invoke from
   `LambdaSimpleBackend.invoke`; we route that call to the project's handler, in-process.
2. DynamoDB writes are made atomic with one lock: DynamoDB is linearizable per item, moto's threaded
   server is not, and intake's exactly-once under concurrent duplicates depends on that guarantee.
3. The mailbox reads the messages SES "sent" from the SES backend.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.ses.models import RawMessage, ses_backends

from infra.lambdas import HandlerError

Invoker = Callable[[str, Any], Any]
_invokers: dict[str, Invoker] = {}
_installed = False
_write_lock = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def register_function(name: str, invoke: Invoker) -> None:
    """Route moto Lambda invocations of function `name` to `invoke(name, event)`."""
    _invokers[name] = invoke


def _function_name(name_or_arn: str) -> str:
    return name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]


def _simple_invoke(self, function_name, qualifier, body, headers, response_headers):
    name = _function_name(function_name)
    invoke = _invokers.get(name)
    if invoke is None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {"errorType": "ResourceNotFound", "errorMessage": f"no handler for {name}"}
        ).encode()
    event = json.loads(body) if body else {}
    try:
        result = invoke(name, event)
    except HandlerError as error:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(error.payload).encode()
    return json.dumps(result).encode()


def _atomic(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(*args, **kwargs)

    return wrapper


def install() -> None:
    """Patch moto (once per process)."""
    global _installed
    if _installed:
        return
    LambdaSimpleBackend.invoke = _simple_invoke
    for name in _WRITES:
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))
    _installed = True


def start_server(host: str, port: int) -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def sent_raw_messages(account: str, region: str) -> list[tuple[str, str]]:
    """(message id, raw MIME text) of every raw email SES accepted, oldest first."""
    backend = ses_backends[account][region]
    return [(m.id, m.raw_data) for m in list(backend.sent_messages) if isinstance(m, RawMessage)]
