"""`complaints console`: the ops console of a deployed stack, in a browser.

On AWS the ops routes take only requests signed with SigV4 by an IAM principal allowed
execute-api:Invoke (AWS_IAM auth in template.yaml), and a browser cannot sign. So, like `kubectl proxy`,
this serves http://127.0.0.1:PORT/<stage>/ops and forwards each GET under it to the same path of the
deployed API, signed with the user's AWS credentials (fetched again for each request, so credentials
that expire are refreshed), and passes the answer back unchanged: status, content type, body.

It listens on the loopback interface only, forwards nothing but GET (HEAD is answered from a GET) under
<stage>/ops and the POST of the console's one form (filing a complaint for a customer, signed with its
body, and only when the browser says it comes from the console's own page: Origin), sends upstream none
of the browser's cookies or other headers, and answers only requests addressed to 127.0.0.1 or
localhost, so that a web page cannot reach it through a DNS name of its own."""

from __future__ import annotations

import http.client
import json
import socketserver
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

from complaints_cli.target import TargetError

HOST = "127.0.0.1"
SERVICE = "execute-api"
UPSTREAM_TIMEOUT = 35  # API Gateway gives up on an integration after 29 s
FORWARDED_HEADERS = ("Accept", "Accept-Language")  # of the browser's; never its cookies
RETURNED_HEADERS = ("Content-Type", "Content-Length", "Cache-Control")
CHUNK = 64 * 1024
MAX_FORM_BYTES = 64 * 1024  # the filing form, as the API takes it
NO_CREDENTIALS = (
    "No AWS credentials found. Configure them (aws configure, AWS_PROFILE or the AWS_* variables); "
    "the console signs each request with them."
)


class CredentialSource(Protocol):
    """botocore's Credentials, refreshable or not."""

    def get_frozen_credentials(self) -> Any: ...


def load_credentials(session: Any) -> CredentialSource:
    """The session's default credentials, checked usable now; TargetError in one line if not."""
    try:
        found = session.get_credentials()
        if found is None:
            raise TargetError(NO_CREDENTIALS)
        found.get_frozen_credentials()  # refreshes them if they have expired
    except (BotoCoreError, ClientError, RuntimeError) as error:
        raise TargetError(
            f"Your AWS credentials cannot be used: {error}. Sign in again (e.g. aws sso login) or "
            "configure other ones."
        ) from error
    return found


@dataclass(frozen=True)
class Upstream:
    """The deployed API: its URL as the stack's ApiUrl output gives it (https://{id}.execute-api.
    {region}.amazonaws.com/{stage}), the region to sign for, and the credentials to sign with."""

    api_url: str
    region: str
    credentials: CredentialSource

    @property
    def scheme(self) -> str:
        return urlsplit(self.api_url).scheme

    @property
    def netloc(self) -> str:
        return urlsplit(self.api_url).netloc

    @property
    def console_path(self) -> str:
        """Where the console is: /<stage>/ops (or /ops for an API without a stage in its URL)."""
        return urlsplit(self.api_url).path.rstrip("/") + "/ops"

    def serves(self, path: str) -> bool:
        """Whether `path` (as requested, still percent-encoded) is the console or under it."""
        if path != self.console_path and not path.startswith(self.console_path + "/"):
            return False
        segments = unquote(path).split("/")[1:]
        # No "." or ".." (they could climb out of the console once resolved) and no empty segments.
        return not any(s in (".", "..") for s in segments) and "" not in segments[:-1]

    @property
    def filing_path(self) -> str:
        """The console's one form that changes something: filing a complaint for a customer."""
        return self.console_path + "/complaints"

    def signed(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> AWSRequest:
        """The request for `target` (path and query), with the SigV4 headers added (over the body too)."""
        request = AWSRequest(
            method=method,
            url=f"{self.scheme}://{self.netloc}{target}",
            headers={"Host": self.netloc},
            data=body or None,
        )
        for name, value in headers.items():
            request.headers[name] = value
        SigV4Auth(self.credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return request

    def connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.netloc, timeout=UPSTREAM_TIMEOUT)
        return http.client.HTTPConnection(self.netloc, timeout=UPSTREAM_TIMEOUT)


def canonical_query(query: str) -> str:
    """The query with each name and value percent-encoded as SigV4 expects them (unreserved
    characters as they are, everything else %XX), so that the signature made here and the one API
    Gateway computes from the same query agree. Order and values are kept."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(quote(unquote(name), safe="-_.~") + equals + quote(unquote(value), safe="-_.~"))
    return "&".join(pairs)


class ConsoleProxy(ThreadingHTTPServer):
    """The proxy, listening on 127.0.0.1:`port` (0: any free port). `serve_forever()` runs it."""

    daemon_threads = True

    def __init__(self, upstream: Upstream, port: int = 8001, log: Callable[[str], None] | None = None):
        self.upstream = upstream
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        super().__init__((HOST, port), _ProxyHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: it looks up the host's DNS name
        self.server_name, self.server_port = HOST, self.server_address[1]

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.upstream.console_path}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ConsoleProxy
    server_version = "complaints-console"
    protocol_version = "HTTP/1.0"  # one request per connection: the body ends when the connection does

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        allowed = {f"{HOST}:{self.server.port}", f"localhost:{self.server.port}"}
        host = self.headers.get("Host")
        if host is not None and host.lower() not in allowed:
            self._answer(403, f"This proxy answers only at http://{HOST}:{self.server.port}/.")
            return False
        if self.command == "POST" and self.path.partition("?")[0] == self.server.upstream.filing_path:
            return self._same_origin()
        if self.command not in ("GET", "HEAD"):
            message = "Only GET, and POST of the filing form: the rest of the console is read-only."
            self._answer(405, message, {"Allow": "GET, HEAD"})
            return False
        return True

    def _same_origin(self) -> bool:
        """A POST signed with your credentials must come from the console's own page: a browser names the
        page's origin in Origin; another site's page that posts here is refused (cross-site request)."""
        allowed = {f"http://{HOST}:{self.server.port}", f"http://localhost:{self.server.port}"}
        if self.headers.get("Origin") not in allowed:
            self._answer(403, "Only the console's own page may file a complaint through this proxy.")
            return False
        return True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_FORM_BYTES:
            self._answer(413 if length else 411, f"The form is 1 byte to {MAX_FORM_BYTES} bytes.")
            return
        self._forward(send_body=True, method="POST", body=self.rfile.read(length))

    def do_GET(self) -> None:
        self._forward(send_body=True)

    def do_HEAD(self) -> None:
        self._forward(send_body=False)

    def _forward(self, send_body: bool, method: str = "GET", body: bytes = b"") -> None:
        upstream = self.server.upstream
        path, question, query = self.path.partition("?")
        if not path.startswith("/") or not upstream.serves(path):
            self._answer(404, f"Not here: the ops console is at {self.server.url}")
            return
        target = path + (f"?{canonical_query(query)}" if question and query else "")
        forwarded = {name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)}
        if body:
            forwarded["Content-Type"] = self.headers.get("Content-Type", "application/x-www-form-urlencoded")
        try:
            # API Gateway has no HEAD on these routes: a HEAD is answered from a GET, without the body.
            request = upstream.signed(method, target, forwarded, body)
        except (BotoCoreError, ClientError, RuntimeError) as error:
            self._answer(502, f"Your AWS credentials cannot be used: {error}. Sign in again and reload.")
            return
        connection = upstream.connection()
        try:
            try:
                connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in request.headers.items():
                    connection.putheader(name, value)
                if body:
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body or None)
                response = connection.getresponse()
            except (OSError, ValueError, http.client.HTTPException) as error:
                self._answer(502, f"The API at {upstream.netloc} did not answer: {type(error).__name__}.")
                return
            try:
                self._relay(response, send_body)
            except (OSError, http.client.HTTPException) as error:
                # The browser went away, or the API stopped mid-answer: the status is already sent.
                self.server.log(f"{method} {path}: answer cut short ({type(error).__name__})")
        finally:
            connection.close()

    def _relay(self, response: http.client.HTTPResponse, send_body: bool) -> None:
        refused = ""
        body = b""
        if response.status >= 400:  # error answers are small: read them to say why in the log
            body = response.read()
            refused = _message(body)
        self.send_response(response.status, refused or None)
        for name in RETURNED_HEADERS:
            value = response.getheader(name)
            if value is not None:
                self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if body:
            self.wfile.write(body)
            return
        while chunk := response.read1(CHUNK):  # what has arrived, without waiting for a full chunk
            self.wfile.write(chunk)

    def _answer(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """An answer of the proxy itself (the API never saw the request)."""
        body = json.dumps({"message": message}).encode()
        self.send_response(status, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_response(self, code: int, message: str | None = None) -> None:
        """The standard reason phrase on the wire; `message` (why an error) goes to the log line."""
        self._why = message if code >= 400 else None
        super().send_response(code, None)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        why = getattr(self, "_why", None)
        path = self.path.partition("?")[0] if hasattr(self, "path") else "-"
        line = f"{getattr(self, 'command', '-')} {path} {code}"
        self.server.log(f"{line}: {why}" if why else line)

    def log_message(self, fmt: str, *args: Any) -> None:
        self.server.log(fmt % args)


def _message(body: bytes) -> str:
    """The "message" (or API Gateway's "Message") of a JSON error body, in one line."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    text = document.get("message") or document.get("Message") or ""
    return " ".join(str(text).split())[:300]
