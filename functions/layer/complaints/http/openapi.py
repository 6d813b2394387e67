"""OpenAPI helpers for bodies the API parses itself (JSON and HTML form on one route); the Swagger page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every $ref to $defs replaced by the definition itself."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def enable_swagger(app: APIGatewayRestResolver, *, path: str, title: str, version: str) -> None:
    """What Powertools' `app.enable_swagger(path=, title=, version=)` serves, with its OpenAPI models and
    Swagger UI imported by the first request for the page instead of at cold start: Powertools imports
    them in enable_swagger, and their pydantic schemas take longer to build than the rest of the API's
    import; no other route needs them. The same route (GET `path`, outside the schema) and answers, made
    by Powertools' own functions: ?format=oauth2-redirect, the redirect page; ?format=json, the OpenAPI
    document; else the Swagger UI page with its script and styles inline. Its `servers` names the base
    path the request came in at, as Powertools' does."""
    from aws_lambda_powertools import event_handler

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"

    @app.get(path, include_in_schema=False)
    def swagger_handler():  # no return annotation: Powertools would validate the response against it
        from aws_lambda_powertools.event_handler import Response
        from aws_lambda_powertools.event_handler.openapi.compat import model_json
        from aws_lambda_powertools.event_handler.openapi.models import Server
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import (
            generate_oauth2_redirect_html,
            generate_swagger_html,
        )

        query = app.current_event.query_string_parameters or {}
        if query.get("format") == "oauth2-redirect":
            return Response(status_code=200, content_type="text/html", body=generate_oauth2_redirect_html())
        spec = app.get_openapi_schema(
            title=title, version=version, servers=[Server(url=(app._get_base_path() or "/"))]
        )
        # Escaped so that no "</script>" in the JSON closes the page's script element.
        escaped = model_json(spec, by_alias=True, exclude_none=True, indent=2).replace("</", "<\\/")
        if query.get("format") == "json":
            return Response(status_code=200, content_type="application/json", body=escaped)
        script = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
        styles = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
        body = generate_swagger_html(escaped, script, styles, None, None, False)
        return Response(status_code=200, content_type="text/html", body=body)
