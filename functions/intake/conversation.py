"""The complainant's side of the conversation, with the access code (as ?code=, the X-Access-Code header or
a form field): POST /complaints/{id}/messages (a message), POST /complaints/{id}/uploads (a form to post one
file straight to S3), GET or POST /complaints/{id}/uploads/{upload_id} (the posted file checked and added).

JSON for apps; HTML forms for the status page, which run no script: its "attach a file" form asks here for
the upload page, whose form posts the file to S3, which sends the browser back to the GET above, which
sends it on to the status page. Thin: parse, call the domain, return; errors map to HTTP here, once."""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from complaints import wiring
from complaints.core import errors
from complaints.core.conversation import message_view
from complaints.core.locale import negotiate
from complaints.core.settings import Settings
from complaints.http.body import decode_body, form_fields, is_form, parse_json
from complaints.http.web import PAGE_POLICY, base_path, base_url, secured
from complaints.presentation.i18n import messages
from complaints.presentation.render import render

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
uploads = wiring.uploads(settings)
app = APIGatewayRestResolver(enable_validation=True)
HTML = "text/html; charset=utf-8"
JSON = "application/json"
Code = Annotated[str | None, Query(max_length=64)]
AccessCode = Annotated[str | None, Header(alias="X-Access-Code", max_length=64)]


def _body() -> dict[str, str]:
    event = app.current_event
    raw = decode_body(event.body, event.is_base64_encoded, settings.max_body_bytes)
    if is_form((event.headers or {}).get("content-type")):
        return form_fields(raw)
    document = parse_json(raw) if raw else {}
    if not isinstance(document, dict):
        raise errors.MalformedBody("the body is not a JSON object")
    return {k: v for k, v in document.items() if isinstance(v, str)}


def _browser() -> bool:
    return is_form((app.current_event.headers or {}).get("content-type")) or "text/html" in (
        (app.current_event.headers or {}).get("accept") or ""
    )


def _status_page(complaint_id: str, code: str) -> Response:
    """Back to the status page (303: the browser GETs it)."""
    location = f"{base_path(app.current_event.raw_event)}/complaints/{complaint_id}?code={code}"
    return Response(status_code=303, headers={"Location": location}, body="")


@app.post("/complaints/<complaint_id>/messages")
def add_message(
    complaint_id: Annotated[str, Path(max_length=32)], code: Code = None, access_code: AccessCode = None
):
    body = _body()
    code = access_code or code or body.get("code")
    message = uploads.add_text(complaint_id, code, body.get("text", ""))
    metrics.add_metric(name="MessageAdded", unit=MetricUnit.Count, value=1)
    if _browser():
        return _status_page(complaint_id, code or "")
    return Response(status_code=201, content_type=JSON, body=message_view(message).model_dump_json())


@app.post("/complaints/<complaint_id>/uploads")
def start_upload(
    complaint_id: Annotated[str, Path(max_length=32)], code: Code = None, access_code: AccessCode = None
):
    body = _body()
    code = access_code or code or body.get("code")
    browser = _browser()
    # Where S3 sends the browser once it has the file: back here, as the browser reached this API.
    back = (
        f"{base_url(app.current_event.raw_event)}/complaints/{complaint_id}/uploads/{{upload_id}}?code={code}"
    )
    started = uploads.start(
        complaint_id, code, body.get("filename"), body.get("contentType", ""), back if browser else None
    )
    metrics.add_metric(name="UploadStarted", unit=MetricUnit.Count, value=1)
    if browser:
        locale = negotiate((app.current_event.headers or {}).get("accept-language"))
        target = urlsplit(started.form.url)
        policy = PAGE_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {target.scheme}://{target.netloc}"
        )
        page = render(
            "upload.html", t=messages(locale), lang=locale, form=started.form, max_bytes=started.max_bytes
        )
        return Response(
            status_code=200, content_type=HTML, body=page, headers={"Content-Security-Policy": policy}
        )
    return Response(
        status_code=201,
        content_type=JSON,
        body={
            "uploadId": started.upload_id,
            "url": started.form.url,
            "fields": started.form.fields,
            "expiresAt": started.form.expires_at.isoformat(),
            "maxBytes": started.max_bytes,
        },
    )


@app.get("/complaints/<complaint_id>/uploads/<upload_id>")
@app.post("/complaints/<complaint_id>/uploads/<upload_id>")
def finish_upload(
    complaint_id: Annotated[str, Path(max_length=32)],
    upload_id: Annotated[str, Path(max_length=32)],
    code: Code = None,
    access_code: AccessCode = None,
    key: Annotated[str | None, Query(max_length=400)] = None,
):
    # `key`: the file's key, as S3 appends it to the redirect (with `bucket` and `etag`), or as the app
    # sent it (the form's `key`, its ${filename} filled in).
    message = uploads.finish(complaint_id, access_code or code, upload_id, key or _body().get("key"))
    metrics.add_metric(name="FileReceived", unit=MetricUnit.Count, value=1)
    if app.current_event.http_method == "GET":  # S3 sent the browser here
        return _status_page(complaint_id, access_code or code or "")
    return Response(status_code=201, content_type=JSON, body=message_view(message).model_dump_json())


def _problem(status: HTTPStatus, message: str) -> Response:
    metrics.add_metric(name=f"Http{status.value}", unit=MetricUnit.Count, value=1)
    if "text/html" in ((app.current_event.headers or {}).get("accept") or ""):
        locale = negotiate((app.current_event.headers or {}).get("accept-language"))
        page = render("message.html", t=messages(locale), lang=locale, heading=status.phrase, message=message)
        return Response(status_code=status.value, content_type=HTML, body=page)
    return Response(status_code=status.value, content_type=JSON, body={"message": message})


@app.exception_handler(errors.CaseNotFound)
def _no_case(_: errors.CaseNotFound) -> Response:
    locale = negotiate((app.current_event.headers or {}).get("accept-language"))
    return _problem(HTTPStatus.NOT_FOUND, messages(locale)["errors"]["not_found"])


@app.exception_handler(errors.UploadNotFound)
def _no_upload(_: errors.UploadNotFound) -> Response:
    return _problem(HTTPStatus.NOT_FOUND, "No file was uploaded with that form (or its time ran out).")


@app.exception_handler(errors.UploadRefused)
def _refused(error: errors.UploadRefused) -> Response:
    return _problem(HTTPStatus.UNPROCESSABLE_ENTITY, str(error))


@app.exception_handler(errors.MalformedBody)
def _malformed(error: errors.MalformedBody) -> Response:
    return _problem(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler(errors.PayloadTooLarge)
def _too_large(error: errors.PayloadTooLarge) -> Response:
    return _problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(error))


@app.exception_handler(errors.ConflictError)
def _conflict(_: errors.ConflictError) -> Response:
    return _problem(
        HTTPStatus.CONFLICT, "Something else was added to the case at the same moment; please send again."
    )


@app.exception_handler(errors.TransientError)
def _busy(_: errors.TransientError) -> Response:
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
