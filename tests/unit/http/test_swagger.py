"""http.openapi.enable_swagger answers exactly what Powertools' app.enable_swagger answers, for the same
routes, with Powertools' OpenAPI models and Swagger UI loaded only by a request for the page."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from complaints.http.openapi import enable_swagger
from complaints.http.web import base_path
from infra.gateway import proxy_event
from infra.template import ROOT


class Thing(BaseModel):
    name: str
    note: str = "</script>"  # must come out escaped inside the page's script element


class Resolver(APIGatewayRestResolver):
    def _get_base_path(self) -> str:  # as functions/intake/api.py's
        return base_path(self.current_event.raw_event) or "/"


def _app(powertools_own: bool) -> Resolver:
    app = Resolver(enable_validation=True)
    if powertools_own:
        app.enable_swagger(path="/swagger", title="Things", version="2.0.0")
    else:
        enable_swagger(app, path="/swagger", title="Things", version="2.0.0")

    @app.get("/things/<name>", summary="A thing")
    def thing(name: str, loud: Annotated[bool, Query()] = False) -> Thing:
        return Thing(name=name.upper() if loud else name)

    @app.post(
        "/things", responses={201: {"description": "Made", "content": {"application/json": {"model": Thing}}}}
    )
    def make(thing: Thing) -> Thing:
        return thing

    return app


class Context:
    function_name = "f"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    aws_request_id = "r"


@pytest.mark.parametrize("query", ["", "format=json", "format=oauth2-redirect"])
@pytest.mark.parametrize("request_path", ["/swagger", "/prod/swagger"], ids=["own-domain", "stage"])
def test_the_page_is_powertools_own(query, request_path):
    request = Request(
        EnvironBuilder(path=request_path, query_string=query, headers={"Host": "h"}).get_environ()
    )
    event = proxy_event(request, "/swagger", {}, "prod", path="/swagger")

    ours = _app(powertools_own=False).resolve(event, Context())
    theirs = _app(powertools_own=True).resolve(event, Context())

    assert ours == theirs
    assert ours["statusCode"] == 200


def test_nothing_of_the_page_loads_with_the_route():
    code = (
        "import sys\n"
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
        "from complaints.http.openapi import enable_swagger\n"
        "app = APIGatewayRestResolver(enable_validation=True)\n"
        "enable_swagger(app, path='/swagger', title='t', version='1')\n"
        "loaded = [m for m in sys.modules if m.startswith('aws_lambda_powertools.event_handler.openapi.')]\n"
        "print(sorted(m for m in loaded if m.rsplit('.', 1)[-1] in ('models', 'swagger_ui', 'oauth2')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "functions" / "layer")},
    )
    assert done.stdout.strip() == "[]"
