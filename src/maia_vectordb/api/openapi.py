"""The OpenAPI document, corrected to what the service really answers.

FastAPI advertises 422 for validation errors; this service answers 400 in the
OpenAI envelope (as OpenAI does), and any /v1 route may answer 401 or 413.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from maia_vectordb.errors import ErrorEnvelope

COMPONENTS = "#/components/schemas/{model}"
ENVELOPE_REF = {"$ref": COMPONENTS.format(model=ErrorEnvelope.__name__)}
_SHARED = {
    "400": "Invalid request (the `param` names the offending field)",
    "401": "Missing or invalid API key",
    "413": "Request body too large",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ENVELOPE_REF}}}


def _envelope_schemas() -> dict[str, Any]:
    """The envelope's component schemas, from the model the error responses are built from."""
    schema = ErrorEnvelope.model_json_schema(ref_template=COMPONENTS)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, ErrorEnvelope.__name__: schema}


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                if path.startswith("/v1"):
                    for code, text in _SHARED.items():
                        responses.setdefault(code, _error(text))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components.update(_envelope_schemas())
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
