"""The OpenAPI document at /openapi.json, as the API really answers: errors are 400 with our body, never 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fdtrack.web.api.auth import BEARER_SCHEME
from fdtrack.web.api.schemas import ErrorBody

API_DESCRIPTION = """Firmware Distribution Tracking API (SPEC §8.2).

Authenticate with `Authorization: Bearer <token>`; tokens come from `fdtrack tokens create` and act with
their account's rights, narrowed by their scope (`read` or `ingest`). Every error is
`{"error": {"code", "message"}}` with a 4xx status. Times are RFC 3339 in UTC with a `Z`.
"""


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=API_DESCRIPTION, routes=app.routes)
            _use_our_validation_errors(document)
            _declare_bearer_tokens(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_bearer_tokens(document: dict[str, Any]) -> None:
    """Every /api/ operation takes a bearer token (web/api/auth.py reads it)."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerToken"] = BEARER_SCHEME
    for path, operations in document.get("paths", {}).items():
        if path.startswith("/api/"):
            for operation in operations.values():
                operation["security"] = [{"bearerToken": []}]


def _use_our_validation_errors(document: dict[str, Any]) -> None:
    """FastAPI documents 422 for invalid parameters; the handler in web/errors.py answers 400 instead."""
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses["400"] = {
                    "description": "Malformed input (the message names the field)",
                    "content": {"application/json": {"schema": error_ref}},
                }
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
