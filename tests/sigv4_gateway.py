"""A stand-in for API Gateway's AWS_IAM auth on loopback: it verifies each request's SigV4 signature
from the known secret keys and answers 403 as API Gateway does when it is missing or wrong; signed
requests get small stand-ins for the ops pages under /<stage>/ops, and POST /<stage>/ops/complaints
(staff filing for a customer) a 202 with a ticket.

The signature is recomputed with botocore from what arrived: the method, path and query, the body, and the
headers the Authorization header names in SignedHeaders (as API Gateway does: headers a client or
proxy adds without signing them are not part of the signature), at the request's own X-Amz-Date."""

from __future__ import annotations

import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

MISSING = "Missing Authentication Token"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
CONSOLE_HTML = (
    "<!doctype html><html><head><title>Complaints — ops console</title></head><body>"
    "<h1>Complaints — ops console</h1>"
    '<a href="/prod/ops/executions/CMP-20261123-ABC123">CMP-20261123-ABC123</a>'
    "</body></html>"
)
FILED = {
    "complaintId": "CMP-20261123-PHONE1",
    "accessCode": "a1b2c3d4e5f6",
    "status": "RECEIVED",
    "statusUrl": "https://api.example/prod/complaints/CMP-20261123-PHONE1?code=a1b2c3d4e5f6",
}
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Seen:
    """A request as it arrived, and whether its signature held."""

    method: str
    path: str
    headers: dict[str, str]
    refused: str | None  # None: verified
    body: bytes = b""

    @property
    def access_key(self) -> str | None:
        found = _AUTHORIZATION.fullmatch(self.headers.get("Authorization", ""))
        return found["key"] if found else None


@dataclass
class SigV4Gateway:
    """`with SigV4Gateway(keys) as gateway:` serves at gateway.api_url (http://127.0.0.1:PORT/prod).

    `keys` maps each access key id to (secret key, session token or None)."""

    keys: dict[str, tuple[str, str | None]]
    region: str = "eu-west-1"
    stage: str = "prod"
    seen: list[Seen] = field(default_factory=list)

    def __enter__(self) -> SigV4Gateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway._handle(self)

            do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, fmt: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    # ------------------------------------------------------------ verification
    def verify(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> str | None:
        """None if the request carries a valid signature; otherwise API Gateway's message."""
        found = _AUTHORIZATION.fullmatch(headers.get("Authorization", ""))
        if found is None:
            return MISSING
        if found["key"] not in self.keys:
            return INVALID_TOKEN
        secret, token = self.keys[found["key"]]
        if (found["region"], found["service"]) != (self.region, "execute-api"):
            return f"Credential should be scoped to a valid region and service ({found['region']})."
        amz_date = headers.get("X-Amz-Date", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return MISMATCH
        if abs(datetime.now(UTC) - signed_at) > timedelta(minutes=5) or amz_date[:8] != found["day"]:
            return f"Signature expired: {amz_date} is now earlier or later than the allowed 5 minutes."
        names = found["signed"].split(";")
        if "host" not in names or "x-amz-date" not in names:
            return MISMATCH
        if token is not None and (
            headers.get("X-Amz-Security-Token") != token or "x-amz-security-token" not in names
        ):
            return INVALID_TOKEN
        lowered = {name.lower(): value for name, value in headers.items()}
        if any(name not in lowered for name in names):
            return MISMATCH
        request = AWSRequest(
            method=method,
            url=f"http://{lowered['host']}{target}",
            headers={name: lowered[name] for name in names},
            data=body,
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(ReadOnlyCredentials(found["key"], secret, token), "execute-api", self.region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        return None if hmac.compare_digest(expected, found["signature"]) else MISMATCH

    # ------------------------------------------------------------ answers
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = dict(handler.headers.items())
        body = handler.rfile.read(int(headers.get("Content-Length") or 0))
        refused = self.verify(handler.command, handler.path, headers, body)
        self.seen.append(Seen(handler.command, handler.path, headers, refused, body))
        path, _, query = handler.path.partition("?")
        console = f"/{self.stage}/ops"
        if refused is not None:
            status, content_type, body = 403, "application/json", json.dumps({"message": refused})
        elif (handler.command, path) == ("POST", f"{console}/complaints"):
            status, content_type, body = 202, "application/json", json.dumps(FILED)
        elif handler.command != "GET":
            status, content_type, body = 403, "application/json", json.dumps({"message": MISSING})
        elif path == console:
            status, content_type, body = 200, "text/html; charset=utf-8", CONSOLE_HTML
        elif path.startswith(f"{console}/api/"):
            document = {"view": path.rsplit("/", 1)[1], "query": query}
            status, content_type, body = 200, "application/json", json.dumps(document)
        elif path.startswith(f"{console}/executions/"):
            name = path.rsplit("/", 1)[1]
            status, content_type, body = 200, "text/html; charset=utf-8", f"<h1>Execution {name}</h1>"
        else:
            status, content_type, body = 404, "application/json", json.dumps({"message": "Not found"})
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Set-Cookie", "upstream=1")  # the proxy passes none of this on
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
