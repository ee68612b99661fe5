"""GET /openapi.json: OpenAPI 3.1 built from the declared endpoints and schemas/*.json."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app

from sigsvc.web import schemas
from sigsvc.web.endpoints import EndpointSpec, endpoint
from sigsvc.web.errors import ERROR_CODES

bp = Blueprint("openapi", __name__)

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_SCHEMAS = {"uuid": {"type": "string", "format": "uuid"}, None: {"type": "string"}}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "admin": [{"adminToken": []}],
    "platform": [{"platformKey": []}],
    "platform_or_admin": [{"platformKey": []}, {"adminToken": []}],
    "none": [],
}
_AUTH_ERRORS = ("TOKEN_MISSING", "TOKEN_INVALID", "FORBIDDEN")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(spec: EndpointSpec, path_params: list[dict[str, Any]]) -> dict[str, Any]:
    error_codes = list(spec.errors)
    if spec.request:
        error_codes += [
            "MALFORMED_JSON",
            "WRONG_TYPE",
            "MISSING_FIELD",
            "UNKNOWN_FIELD",
            "INVALID_FIELD",
            "UNSUPPORTED_MEDIA_TYPE",
        ]
    if spec.auth != "none":
        error_codes += _AUTH_ERRORS
    if path_params:
        error_codes.append("NOT_FOUND")
    error_codes += ["TOO_LARGE", "INTERNAL_ERROR"]
    responses: dict[str, Any] = {}
    for status, schema_name in spec.responses.items():
        media = {"schema": _ref(schema_name)} if schema_name else {"schema": {"type": "string"}}
        responses[str(status)] = {"description": "success", "content": {spec.media_type: media}}
    for code in dict.fromkeys(error_codes):
        entry = responses.setdefault(
            str(ERROR_CODES[code][0]),
            {"description": "", "content": {"application/json": {"schema": _ref("error")}}},
        )
        entry["description"] = "; ".join(filter(None, [entry["description"], code]))
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": list(spec.tags),
        "security": _SECURITY[spec.auth],
        "parameters": path_params + spec.query,
        "responses": responses,
        "x-error-codes": list(dict.fromkeys(error_codes)),
    }
    if spec.request:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec.request)}},
        }
    elif spec.request_media:  # a binary body, e.g. a signed container
        binary = {"schema": {"type": "string", "contentEncoding": "binary"}}
        operation["requestBody"] = {
            "required": True,
            "content": {media: binary for media in spec.request_media},
        }
    return operation


def build(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec: EndpointSpec | None = getattr(
            app.view_functions[rule.endpoint], "sigsvc_endpoint", None
        )
        if spec is None:
            continue
        path_params = [
            {"name": name, "in": "path", "required": True, "schema": _PARAM_SCHEMAS[conv or None]}
            for conv, name in _CONVERTER.findall(rule.rule)
        ]
        path = _CONVERTER.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(spec, path_params)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "sigsvc",
            "version": "1",
            "description": "Certified e-signature collection for Latvian initiatives. Every "
            'error is {"error": {"code", "message", "request_id"}}; codes: '
            + ", ".join(f"{code} ({status})" for code, (status, _) in ERROR_CODES.items()),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.load_all(),
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer", "description": "admin token"},
                "platformKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "per-platform API key",
                },
            },
        },
    }


@endpoint(
    bp,
    "/openapi.json",
    methods=["GET"],
    auth="none",
    responses={200: "openapi"},
    summary="This API description (OpenAPI 3.1).",
)
def openapi_json() -> dict[str, Any]:
    return build(current_app)
