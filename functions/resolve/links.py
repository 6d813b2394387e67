"""The pages behind the links in emails: GET shows the case and a form (and decides nothing), POST
records the person's answer exactly once and hands it to the waiting Step Functions task."""

from __future__ import annotations

import os
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from complaints import wiring
from complaints.core.errors import (
    AnswerKept,
    LinkDecided,
    LinkForged,
    LinkGone,
    MalformedBody,
    PayloadTooLarge,
)
from complaints.core.settings import Settings
from complaints.core.tasks import REMEDIES, ROOT_CAUSES
from complaints.http.body import decode_body, field_errors, parse_form
from complaints.http.web import base_path, secured
from complaints.presentation.i18n import messages
from complaints.presentation.render import render

settings = Settings.from_environment(os.environ)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
pages = wiring.task_pages(settings)
app = APIGatewayRestResolver(enable_validation=True)
HTML = "text/html; charset=utf-8"


def _page(template: str, status: int, **context) -> Response:
    return Response(status_code=status, content_type=HTML, body=render(template, **context))


def _form_page(link_id: str, sig: str | None, status: int = 200, errors: list | None = None, values=None):
    view = pages.open_page(link_id, sig)
    if view.link.kind == "confirm":  # the complainant's page, in their language
        locale = view.case.locale
        return _page(
            "confirm_page.html",
            status,
            view=view,
            t=messages(locale),
            lang=locale,
            errors=errors or [],
            action=f"{base_path(app.current_event.raw_event)}/tasks/{link_id}?sig={sig}",
        )
    return _page(
        "task_page.html",
        status,
        view=view,
        remedies=REMEDIES,
        root_causes=ROOT_CAUSES,
        errors=errors or [],
        values=values or {},
        action=f"{base_path(app.current_event.raw_event)}/tasks/{link_id}?sig={sig}",
    )


@app.get("/tasks/<link_id>", include_in_schema=False)
def show(
    link_id: Annotated[str, Path(max_length=64)], sig: Annotated[str | None, Query(max_length=64)] = None
):
    metrics.add_metric(name="TaskLinkOpened", unit=MetricUnit.Count, value=1)
    return _form_page(link_id, sig)


@app.post("/tasks/<link_id>", include_in_schema=False)
def decide(
    link_id: Annotated[str, Path(max_length=64)], sig: Annotated[str | None, Query(max_length=64)] = None
):
    event = app.current_event
    raw = decode_body(event.body, event.is_base64_encoded, settings.max_body_bytes)
    form = dict(parse_form(raw.decode("utf-8", errors="replace")))
    try:
        link = pages.submit(link_id, sig, form)
    except ValidationError as error:
        return _form_page(link_id, sig, 422, field_errors(error), form)
    logger.set_correlation_id(link.complaint_id)
    metrics.add_metric(name="TaskAnswered", unit=MetricUnit.Count, value=1)
    logger.info("task answered", extra={"kind": link.kind, "level": link.level})
    if link.kind == "confirm":
        text = messages(pages.open_case(link.complaint_id).locale)
        return _page("message.html", 200, t=text, lang="", heading=text["confirm"]["thanks"], message="")
    return _page("task_done.html", 200, link=link, asked=link.kind == "investigate" and "question" in form)


@app.exception_handler(LinkForged)
def _forged(_: LinkForged) -> Response:
    metrics.add_metric(name="TaskLinkRejected", unit=MetricUnit.Count, value=1)
    return _page("task_refused.html", 404, title="Link not found", message="This link is not valid.")


@app.exception_handler(MalformedBody)
def _malformed(error: MalformedBody) -> Response:
    return _page("task_refused.html", 400, title="This form cannot be read", message=str(error))


@app.exception_handler(PayloadTooLarge)
def _too_large(error: PayloadTooLarge) -> Response:
    return _page("task_refused.html", 413, title="This form is too large", message=str(error))


@app.exception_handler(LinkDecided)
def _decided(error: LinkDecided) -> Response:
    return _page(
        "task_refused.html",
        409,
        title="Already decided",
        message=f"The task for complaint {error.link.complaint_id} was done already. Nothing more to do.",
    )


@app.exception_handler(AnswerKept)
def _kept(error: AnswerKept) -> Response:
    """Recorded, but the wait it was for had just ended: the step's next task takes it."""
    metrics.add_metric(name="TaskAnswerKept", unit=MetricUnit.Count, value=1)
    logger.info("task answer kept", extra={"kind": error.link.kind, "level": error.link.level})
    if error.link.kind == "confirm":  # the customer's answer: recorded with the case, in their language
        text = messages(pages.open_case(error.link.complaint_id).locale)
        return _page("message.html", 202, t=text, lang="", heading=text["confirm"]["thanks"], message="")
    return _page(
        "task_refused.html",
        202,
        title="Your answer is recorded",
        message=f"Your answer for complaint {error.link.complaint_id} is recorded. It arrived as this step "
        "was moving on, so it is kept with the case and taken up when the case next waits for this step "
        "(a reminder, or the next person in line): there is nothing more to do.",
    )


@app.exception_handler(LinkGone)
def _gone(error: LinkGone) -> Response:
    holder = error.link.held_by
    message = (
        f"The task for complaint {error.link.complaint_id} has moved on: {holder} holds it now."
        if holder
        else f"The task for complaint {error.link.complaint_id} has expired; the next person in line has it."
    )
    return _page("task_refused.html", 410, title="This link has expired", message=message)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@secured
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)
