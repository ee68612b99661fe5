"""JSON Schemas of schemas/*.json: loading, checking, and validating request bodies.

The repository's `schemas/` directory is the source of truth; openapi.json embeds the same
documents, so what is validated is what is published.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from sigsvc.web.errors import ApiError

SCHEMAS_DIR = Path(os.environ.get("SIGSVC_SCHEMAS_DIR", Path(__file__).parents[2] / "schemas"))


@functools.cache
def load_all() -> dict[str, dict[str, Any]]:
    """name (file stem) -> schema, every file checked against the 2020-12 meta-schema."""
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        schemas[path.stem] = schema
    return schemas


def get(name: str) -> dict[str, Any]:
    return load_all()[name]


@functools.cache
def registry() -> Registry:
    """Schemas refer to each other by relative `$ref` ("initiative.json") against their `$id`."""
    resources = [(s["$id"], Resource.from_contents(s)) for s in load_all().values()]
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        get(name), registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


_CODES = {
    "additionalProperties": "UNKNOWN_FIELD",
    "unevaluatedProperties": "UNKNOWN_FIELD",
    "required": "MISSING_FIELD",
    "type": "WRONG_TYPE",
}


def _location(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def validate(name: str, instance: Any) -> None:
    """Raise ApiError for the most relevant violation; the message names fields, not values."""
    errors = list(validator(name).iter_errors(instance))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    code = _CODES.get(str(error.validator), "INVALID_FIELD")
    where = _location(error)
    if code == "UNKNOWN_FIELD":
        known = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - known) if isinstance(error.instance, dict) else []
        message = f"{where}: unknown field(s) {', '.join(map(repr, extra))}"
    elif code == "MISSING_FIELD":
        missing = [f for f in error.validator_value if f not in error.instance]
        message = f"{where}: missing field(s) {', '.join(map(repr, missing))}"
    elif code == "WRONG_TYPE":
        message = f"{where}: expected {error.validator_value}"
    else:
        message = f"{where}: violates '{error.validator}' of the schema"
    raise ApiError(code, message)
