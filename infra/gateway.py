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


def proxy_event(request: Request, resource: str, path_parameters: dict[str, str], stage: str) -> dict:
    """An API Gateway REST (v1) proxy event for this request."""
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
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": request.path,
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
            "path": f"/{stage}{request.path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
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


class Gateway:
    """A WSGI app: the template's API routes plus the local-only pages (health, mailbox).

    Routes the template protects with AWS_IAM take the place of a signed request with the stack's ops
    token instead: `Authorization: Bearer <token>`, or the cookie set by opening `?token=<token>` once
    (the link the banner prints). Anything else gets API Gateway's 403 for an unsigned request."""

    def __init__(self, runtimes: dict[str, FunctionRuntime], stage: str = "local", ops_token: str = ""):
        self.stage = stage
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
        adapter = self.map.bind_to_environ(request.environ)
        try:
            (runtime, resource), params = adapter.match()
        except MethodNotAllowed:
            return _json(405, {"message": "Method not allowed"})
        except NotFound:
            return _json(404, {"message": "Not found"})
        except HTTPException as error:
            return _json(error.code or 400, {"message": error.description})
        if (request.method, resource) in runtime.spec.iam_routes:
            denied = self._check_ops_token(request)
            if denied is not None:
                return denied
        event = proxy_event(request, resource, {k: str(v) for k, v in params.items()}, self.stage)
        try:
            result = runtime.invoke(event)
        except HandlerError as error:
            # What API Gateway answers when the integration fails: a 502 and nothing of the error.
            log.error("handler %s failed: %s", runtime.spec.logical_id, error.payload["errorType"])
            return _json(502, {"message": "Internal server error"})
        return to_response(result)

    def _check_ops_token(self, request: Request) -> Response | None:
        """None when the request carries the ops token; otherwise the answer to give."""
        offered = request.args.get("token")
        if offered is not None and self.ops_token and hmac.compare_digest(offered, self.ops_token):
            # Exchange the token in the link for a cookie, and drop it from the address bar.
            response = Response(status=303, headers={"Location": request.path})
            response.set_cookie(OPS_COOKIE, self.ops_token, httponly=True, samesite="Strict", path="/ops")
            return response
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        cookie = request.cookies.get(OPS_COOKIE, "")
        if self.ops_token and any(hmac.compare_digest(c, self.ops_token) for c in (bearer, cookie) if c):
            return None
        return _json(403, {"message": "Missing Authentication Token"})


class QuietRequestHandler(WSGIRequestHandler):
    """Access log without query strings: status links carry access codes there."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)
