"""openapi.json covers every route, uses only valid schemas, and is served."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from sigsvc.web import schemas
from sigsvc.web.errors import ERROR_CODES


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("pages_public.", "pages_console.")):
            continue  # HTML pages and their static files (sigsvc/pages): not the API contract
        yield re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), rule


def test_every_route_is_described(app, client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    for path, rule in _rules(app):
        assert hasattr(app.view_functions[rule.endpoint], "sigsvc_endpoint"), rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (method, path)


def test_every_schema_is_valid_and_every_ref_resolves(client):
    document = client.get("/openapi.json").get_json()
    assert set(document["components"]["schemas"]) == {
        name.removesuffix(".schema") for name in schemas.load_all()
    }
    for name, schema in schemas.load_all().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.json")
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(document))
    assert refs
    for ref in refs:  # one self-contained document: every reference is a component
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"]


def test_operations_have_unique_ids_and_a_server(client):
    document = client.get("/openapi.json").get_json()
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) >= 26
    assert document["servers"] == [{"url": "/", "description": "this sigsvc deployment"}]


def test_openapi_spec_validator_accepts_the_document(client):
    from openapi_spec_validator import validate

    validate(client.get("/openapi.json").get_json())  # raises on the first violation


REDOCLY = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "redocly"


def test_redocly_lint_finds_no_error(client, tmp_path):
    """Redocly CLI's recommended rules (installed by .ci/run with npm; see docs/development.md)."""
    if not REDOCLY.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{REDOCLY} missing: .ci/run installs it with npm")
        pytest.skip("Redocly CLI not installed: npm install --prefix .tools @redocly/cli@2.77.0")
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(client.get("/openapi.json").get_json()))
    result = subprocess.run(
        [str(REDOCLY), "lint", "--format", "json", str(spec)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )
    report = json.loads(result.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert errors == [], errors
    assert result.returncode == 0, result.stderr


def _objects(schema):
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            yield schema
        for value in schema.values():
            yield from _objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _objects(value)


def test_request_schemas_reject_unknown_fields(client):
    document = client.get("/openapi.json").get_json()
    request_schemas = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for item in document["paths"].values()
        for op in item.values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    assert request_schemas == {"admin_token_create", "initiative_create", "platform_create"}
    for name in request_schemas:
        for obj in _objects(schemas.get(name)):
            assert obj["additionalProperties"] is False, name


def test_error_codes_are_published(client):
    document = client.get("/openapi.json").get_json()
    for code in ERROR_CODES:
        assert code in document["info"]["description"]
    used = {
        c
        for item in document["paths"].values()
        for op in item.values()
        for c in op["x-error-codes"]
    }
    assert used <= set(ERROR_CODES)
