"""openapi.json covers every route, uses only valid schemas, and is served."""

from __future__ import annotations

import re

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
    assert set(document["components"]["schemas"]) == set(schemas.load_all())
    for name, schema in schemas.load_all().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.json")
    refs = re.findall(r'"\$ref": "([^"]+)"', str(document).replace("'", '"'))
    for ref in refs:
        if ref.startswith("#/components/schemas/"):
            assert ref.rsplit("/", 1)[1] in document["components"]["schemas"]
        elif ref.startswith("#/$defs/"):  # internal to its schema (log-leaf.schema.json)
            continue
        else:
            assert schemas.registry().get_or_retrieve("https://sigsvc.invalid/schemas/" + ref).value


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
    assert request_schemas == {"initiative_create", "platform_create"}
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
