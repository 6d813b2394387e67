"""The local API Gateway: HTTP requests become REST API proxy events for the handlers of template.yaml."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from infra.lambdas import FunctionRuntime, HandlerError

log = logging.getLogger("infra.gateway")
_PARAM = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


def _rule_path(path: str) -> str:
    return _PARAM.sub(lambda m: f"<path:{m.group(1)}>" if m.group(2) else f"<{m.group(1)}>", path)


# What API Gateway puts in requestContext.identity about the caller: null on a public route; on an AWS_IAM
# route, the IAM principal whose SigV4 signature it verified (`userArn`: an IAM user's ARN, or
# arn:aws:sts::<account>:assumed-role/<role>/<session> for SSO and other assumed roles; `caller` and
# `user` its unique ids; `accessKey` the key it signed with).
ANONYMOUS = {"accountId": None, "caller": None, "user": None, "userArn": None, "accessKey": None}


# The principal the local ops token stands for: the embedded stack's one ops user, in its account, as a
# request signed with that user's credentials reaches a function on AWS (the token is no access key).
LOCAL_ACCOUNT = "123456789012"
OPS_PRINCIPAL = {
    "accountId": LOCAL_ACCOUNT,
    "caller": "AIDALOCALOPSUSER0001",
    "user": "AIDALOCALOPSUSER0001",
    "userArn": f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-ops",
    "accessKey": None,
}


def proxy_event(
    request: Request,
    resource: str,
    path_parameters: dict[str, str],
    stage: str,
    path: str | None = None,
    principal: dict[str, str | None] | None = None,
) -> dict:
    """An API Gateway REST (v1) proxy event for this request. `path` is the resource path, without the
    stage (what API Gateway puts in `path`); the request's own path, stage included, goes in
    requestContext.path. `principal`: the caller's identity on an AWS_IAM route (OPS_PRINCIPAL)."""
    path = request.path if path is None else path
    body_bytes = request.get_data(cache=True)
    content_type = request.headers.get("Content-Type", "")
    is_text = not body_bytes or content_type.startswith(_TEXT_TYPES) or content_type.endswith("+json")
    if is_text:
        try:
            body: str | None = body_bytes.decode("utf-8") if body_bytes else None
            is_base64 = False
        except UnicodeDecodeError:
            is_text = False
    if not is_text:
        body, is_base64 = base64.b64encode(body_bytes).decode(), True
    multi_query = {key: request.args.getlist(key) for key in request.args}
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    # What API Gateway adds to every proxied request.
    multi_headers.setdefault("X-Forwarded-For", []).append(request.remote_addr or "127.0.0.1")
    multi_headers["X-Forwarded-Proto"] = [request.scheme]
    multi_headers["X-Forwarded-Port"] = [str(request.environ.get("SERVER_PORT", ""))]
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": request.method,
            "path": request.path,
            "stage": stage,
            "domainName": request.host,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": LOCAL_ACCOUNT,
            "apiId": "local",
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "identity": {
                **(principal or ANONYMOUS),
                "sourceIp": request.remote_addr,
                "userAgent": request.user_agent.string,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def to_response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result.get("statusCode", 200)))
    response.headers.clear()
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(key)
        for value in values:
            response.headers.add(key, str(value))
    return response


def _json(status: int, document: Any) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")


OPS_COOKIE = "ops_token"


def _same_secret(offered: str, secret: str) -> bool:
    """Constant-time, on bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a
    crash, where a wrong token must get the same 403 as any other)."""
    return hmac.compare_digest(
        offered.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    )


MISSING_TOKEN = {"message": "Missing Authentication Token"}  # API Gateway's answer to a path it has not


class Gateway:
    """A WSGI app: the template's API routes under the API's stage, as API Gateway serves a REST API
    (`/<stage>/complaints`), plus the local-only pages at the root (health, mailbox, stack outputs).

    As on API Gateway, a path outside the stage, or a path or method the API does not have, gets 403
    "Missing Authentication Token"; `/` redirects to the form under the stage.

    Routes the template protects with AWS_IAM take the place of a signed request with the stack's ops
    token instead: `Authorization: Bearer <token>`, or the cookie set by opening `?token=<token>` once
    (the link the banner prints). Anything else gets API Gateway's 403 for an unsigned request. A request
    with the token reaches its function as one signed by OPS_PRINCIPAL would (requestContext.identity)."""

    def __init__(
        self, runtimes: dict[str, FunctionRuntime], stages: list[str] | None = None, ops_token: str = ""
    ):
        self.stages = stages or ["prod"]
        self.stage = self.stages[0]
        self.ops_token = ops_token
        self.local_routes: dict[str, Callable[[Request], Response]] = {}
        rules = []
        for runtime in runtimes.values():
            for method, path in runtime.spec.api_routes:
                rules.append(Rule(_rule_path(path), methods=[method], endpoint=(runtime, path)))
        self.map = Map(rules, strict_slashes=False, merge_slashes=False)

    def add_local(self, path: str, view: Callable[[Request], Response]) -> None:
        self.local_routes[path] = view

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:
            log.exception("gateway error on %s %s", request.method, request.path)
            response = _json(502, {"message": "Internal server error"})
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path in self.local_routes:
            return self.local_routes[request.path](request)
        if request.path == "/":
            return Response(status=302, headers={"Location": f"/{self.stage}/"})
        stage, _, rest = request.path.lstrip("/").partition("/")
        if stage not in self.stages:
            return _json(403, MISSING_TOKEN)
        path = "/" + rest
        adapter = self.map.bind(request.host, url_scheme=request.scheme)
        try:
            (runtime, resource), params = adapter.match(path, method=request.method)
        except (MethodNotAllowed, NotFound):
            return _json(403, MISSING_TOKEN)
        except HTTPException as error:
            return _json(error.code or 400, {"message": error.description})
        principal = None
        if (request.method, resource) in runtime.spec.iam_routes:
            denied = self._check_ops_token(request, stage)
            if denied is not None:
                return denied
            principal = OPS_PRINCIPAL  # who the token stands for, where AWS names the signer
        event = proxy_event(request, resource, {k: str(v) for k, v in params.items()}, stage, path, principal)
        try:
            result = runtime.invoke(event)
        except HandlerError as error:
            # What API Gateway answers when the integration fails: a 502 and nothing of the error.
            # The function's own log has the stack trace, as CloudWatch would.
            log.error(
                "handler %s failed: %s\n%s",
                runtime.spec.logical_id,
                error.payload["errorType"],
                "".join(error.payload["stackTrace"]),
            )
            return _json(502, {"message": "Internal server error"})
        return to_response(result)

    def _check_ops_token(self, request: Request, stage: str) -> Response | None:
        """None when the request carries the ops token; otherwise the answer to give."""
        offered = request.args.get("token")
        if offered is not None and self.ops_token and _same_secret(offered, self.ops_token):
            # Exchange the token in the link for a cookie, and drop it from the address bar.
            response = Response(status=303, headers={"Location": request.path})
            response.set_cookie(
                OPS_COOKIE, self.ops_token, httponly=True, samesite="Strict", path=f"/{stage}/ops"
            )
            return response
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        cookie = request.cookies.get(OPS_COOKIE, "")
        if self.ops_token and any(_same_secret(c, self.ops_token) for c in (bearer, cookie) if c):
            return None
        return _json(403, {"message": "Missing Authentication Token"})


class QuietRequestHandler(WSGIRequestHandler):
    """Access log without query strings: status links carry access codes there."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)
