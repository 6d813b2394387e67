"""The public API: the complaint form, POST /complaints (JSON or form), GET /complaints/{id}, OpenAPI; and
POST /ops/complaints, staff filing a phone or chat complaint for a customer (AWS_IAM in template.yaml).

Thin: parse the request, call the domain, return a model. Domain errors map to HTTP here, once."""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from complaints import wiring
from complaints.core import errors
from complaints.core.calendar import load_policy
from complaints.core.locale import negotiate
from complaints.core.models import (
    PUBLIC_CHANNELS,
    Accepted,
    ComplaintIn,
    InvalidFields,
    Problem,
    StaffComplaintIn,
    StatusView,
)
from complaints.core.settings import Settings
from complaints.http.body import FORM_FIELDS, decode_body, form_fields, is_form, parse_submission
from complaints.http.openapi import enable_swagger, inline_schema
from complaints.http.web import base_path, base_url, secured
from complaints.intake.service import Submission
from complaints.intake.uploads import ALLOWED_TYPES
from complaints.presentation.i18n import messages
from complaints.presentation.render import render

# Cold start: settings, clients and the service are built once per container.
settings = Settings.from_environment(os.environ)
policy = load_policy()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
service = wiring.intake_service(settings, policy)


class Resolver(APIGatewayRestResolver):
    """Powertools' resolver; the OpenAPI's `servers` names the path the API is served under as this request
    reached it ("/prod" on API Gateway's own domain, a custom domain's base path), as links do."""

    def _get_base_path(self) -> str:
        return base_path(self.current_event.raw_event) or "/"


app = Resolver(enable_validation=True)
enable_swagger(app, path="/swagger", title="Complaints API", version="1.0.0")

HTML = "text/html; charset=utf-8"
JSON = "application/json"
PAGE = {"text/html": {"schema": {"type": "string"}}}  # what a browser (Accept: text/html) gets instead


def _problem_response(description: str, **extra) -> dict:
    return {"description": description, "content": {JSON: {"model": Problem}}, **extra}


INVALID = {
    "description": "Invalid fields (body, header or query parameter), each named",
    "content": {JSON: {"model": InvalidFields}, **PAGE},
}
BUSY = _problem_response(
    "AWS throttled; retry after the seconds Retry-After gives",
    headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
)


def _wants_html() -> bool:
    accept = (app.current_event.headers or {}).get("accept") or ""
    return "text/html" in accept and "application/json" not in accept


def _locale() -> str:
    return negotiate((app.current_event.headers or {}).get("accept-language"))


def _page(template: str, status: int, locale: str, **context) -> Response:
    body = render(template, t=messages(locale), lang=locale, **context)
    return Response(status_code=status, content_type=HTML, body=body)


def _problem(status: HTTPStatus, message: str, **extra) -> Response:
    metrics.add_metric(name=f"Http{status.value}", unit=MetricUnit.Count, value=1)
    if _wants_html():
        return _page("message.html", status.value, _locale(), heading=status.phrase, message=message)
    return Response(status_code=status.value, content_type=JSON, body={"message": message, **extra})


def _form(status: int, locale: str, values: dict[str, str], field_errors: list | None = None) -> Response:
    return _page(
        "form.html",
        status,
        locale,
        action=f"{base_path(app.current_event.raw_event)}/complaints",
        channels=PUBLIC_CHANNELS,
        values=values,
        errors=field_errors or [],
    )


@app.get("/", include_in_schema=False)
def complaint_form():
    metrics.add_metric(name="FormViewed", unit=MetricUnit.Count, value=1)
    return _form(200, _locale(), {})


@app.post(
    "/complaints",
    summary="Submit a complaint",
    description="JSON (application/json) or the HTML form (application/x-www-form-urlencoded). "
    "The same Idempotency-Key returns the first answer; so does the same customer sending the same text "
    "within 10 minutes. The channel is web, app, email or api: a phone or chat complaint is filed by our "
    "staff for the customer (a 422 here).",
    responses={
        202: {"description": "Accepted", "content": {JSON: {"model": Accepted}, **PAGE}},
        400: _problem_response(
            "Malformed body: not JSON or not a JSON object, not UTF-8, nested over 32 levels, a number over "
            "40 characters, or a form of over 64 fields"
        ),
        413: _problem_response("Body over 64 KiB"),
        415: _problem_response("Unsupported content type"),
        422: INVALID,
        503: BUSY,
    },
    openapi_extensions={
        "requestBody": {"required": True, "content": {JSON: {"schema": inline_schema(ComplaintIn)}}}
    },
)
def submit_complaint(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
):
    event = app.current_event
    headers = event.headers or {}
    raw = decode_body(event.body, event.is_base64_encoded, settings.max_body_bytes)
    complaint = parse_submission(raw, headers.get("content-type"))
    submission = service.submit(
        complaint, idempotency_key, headers.get("accept-language"), base_url(event.raw_event)
    )
    _record(submission)
    if _wants_html():
        return _page("receipt.html", 202, submission.locale, accepted=submission.accepted)
    return Response(status_code=202, content_type=JSON, body=submission.accepted.model_dump_json())


STAFF_ROUTE = "/ops/complaints"


def _agent() -> str | None:
    """Who signed the request: API Gateway puts the IAM principal of an AWS_IAM route's caller in
    requestContext.identity (userArn: an IAM user's or an assumed role's session ARN; caller: its ids);
    the embedded stack's gateway puts its ops token's principal there the same way."""
    identity = app.current_event.request_context.identity
    found = identity.user_arn or identity.caller
    return found.strip() if found and found.strip() else None


@app.post(STAFF_ROUTE, include_in_schema=False)
def file_for_customer(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
):
    """Staff file a phone or chat complaint for the customer (JSON, or the ops console's form). The agent
    is the request's authenticated identity, never a field of the body."""
    agent = _agent()
    if agent is None:  # AWS_IAM lets no unsigned request through: a route without it is misconfigured
        logger.error("a staff filing without an authenticated identity was refused")
        return _problem(HTTPStatus.FORBIDDEN, "This route needs a signed request.")
    event = app.current_event
    headers = event.headers or {}
    raw = decode_body(event.body, event.is_base64_encoded, settings.max_body_bytes)
    complaint = parse_submission(raw, headers.get("content-type"), StaffComplaintIn)
    submission = service.submit(
        complaint, idempotency_key, headers.get("accept-language"), base_url(event.raw_event), agent=agent
    )
    _record(submission, by_staff=True)
    if _wants_html():
        return _staff_page(202, accepted=submission.accepted, created=submission.created, errors=[])
    return Response(status_code=202, content_type=JSON, body=submission.accepted.model_dump_json())


def _staff_page(status: int, **context) -> Response:
    body = render("ops_filed.html", base=base_path(app.current_event.raw_event), **context)
    return Response(status_code=status, content_type=HTML, body=body)


def _record(submission: Submission, by_staff: bool = False) -> None:
    """Logs and metrics of a submission: its ticket id as correlation id, never who the customer is."""
    logger.set_correlation_id(submission.accepted.complaintId)
    logger.append_keys(complaint_id=submission.accepted.complaintId)
    metrics.add_dimension(name="channel", value=submission.channel)
    if submission.created:
        metrics.add_metric(name="ComplaintReceived", unit=MetricUnit.Count, value=1)
        if not submission.workflow_started:
            metrics.add_metric(name="WorkflowStartDeferred", unit=MetricUnit.Count, value=1)
            logger.warning("workflow start failed; the reconciler will start it")
        logger.info(
            "complaint received",
            extra={"workflow_started": submission.workflow_started, "filed_by_staff": by_staff},
        )
    else:
        metrics.add_metric(name="ComplaintReplayed", unit=MetricUnit.Count, value=1)
        logger.info("repeated submission answered with the first case")


@app.get(
    "/complaints/<complaint_id>",
    summary="A complaint's status and timeline",
    description="Needs the access code, as ?code= or the X-Access-Code header. Unknown id and wrong code "
    "give the same 404.",
    responses={
        200: {"description": "The case", "content": {JSON: {"model": StatusView}, **PAGE}},
        404: {
            "description": "No such case, or the wrong access code",
            "content": {JSON: {"model": Problem}, **PAGE},
        },
        422: INVALID,
        503: BUSY,
    },
)
def complaint_status(
    complaint_id: Annotated[str, Path(max_length=32)],
    code: Annotated[str | None, Query(max_length=64)] = None,
    access_code: Annotated[str | None, Header(alias="X-Access-Code", max_length=64)] = None,
):
    view = service.status(complaint_id, access_code or code)
    logger.set_correlation_id(view.complaintId)
    metrics.add_metric(name="StatusViewed", unit=MetricUnit.Count, value=1)
    if _wants_html():
        from complaints.classification.taxonomy import load_taxonomy  # parsed on first use, not at import

        case_locale = _locale()
        return _page(
            "status.html",
            200,
            case_locale,
            view=view,
            zone=policy.calendar.timezone,
            taxonomy=load_taxonomy(),
            code=access_code or code,
            base=base_path(app.current_event.raw_event),
            file_types=ALLOWED_TYPES,
        )
    return Response(status_code=200, content_type=JSON, body=view.model_dump_json())


@app.exception_handler(errors.InvalidSubmission)
def _invalid(error: errors.InvalidSubmission):
    event = app.current_event
    if event.resource == STAFF_ROUTE and _wants_html():
        metrics.add_metric(name="Http422", unit=MetricUnit.Count, value=1)
        return _staff_page(422, accepted=None, created=False, errors=error.errors)
    if is_form((event.headers or {}).get("content-type")) and _wants_html():
        values = form_fields(decode_body(event.body, event.is_base64_encoded, settings.max_body_bytes))
        known = {
            name: value
            for name, value in values.items()
            if name in FORM_FIELDS or name.startswith(("reference", "amount"))
        }
        metrics.add_metric(name="Http422", unit=MetricUnit.Count, value=1)
        return _form(422, _locale(), known, error.errors)
    return _problem(
        HTTPStatus.UNPROCESSABLE_ENTITY, "Some fields are missing or invalid.", errors=error.errors
    )


@app.exception_handler(errors.MalformedBody)
def _malformed(error: errors.MalformedBody) -> Response:
    return _problem(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler(errors.PayloadTooLarge)
def _too_large(error: errors.PayloadTooLarge) -> Response:
    return _problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(error))


@app.exception_handler(errors.UnsupportedMediaType)
def _unsupported(error: errors.UnsupportedMediaType) -> Response:
    return _problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, str(error))


@app.exception_handler(errors.IdempotencyKeyReused)
def _key_reused(error: errors.IdempotencyKeyReused) -> Response:
    reused = {"field": "Idempotency-Key", "message": str(error), "type": "idempotency_key_reused"}
    return _problem(HTTPStatus.UNPROCESSABLE_ENTITY, str(error), errors=[reused])


@app.exception_handler(RequestValidationError)
def _bad_parameter(error: RequestValidationError) -> Response:
    """A header, query or path parameter Powertools refused (too long, say): the same 422 body as a bad
    field of the complaint, where Powertools' own omits the message its schema requires."""
    named = [
        {
            "field": str(item.get("loc", ("request",))[-1]),
            "message": str(item.get("msg") or "invalid"),
            "type": str(item.get("type") or "value_error"),
        }
        for item in error.errors()
    ]
    return _problem(HTTPStatus.UNPROCESSABLE_ENTITY, "Some parameters are invalid.", errors=named)


@app.exception_handler(errors.CaseNotFound)
def _not_found(_: errors.CaseNotFound) -> Response:
    return _problem(HTTPStatus.NOT_FOUND, messages(_locale())["errors"]["not_found"])


@app.exception_handler(errors.TransientError)
def _busy(_: errors.TransientError) -> Response:
    metrics.add_metric(name="IntakeThrottled", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=503,
        content_type=JSON,
        headers={"Retry-After": "1"},
        body={"message": "The service is busy; please retry."},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@secured
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)
