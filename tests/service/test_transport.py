"""HSTS on HTTPS answers only; /readyz names the release (the certification report reads it)."""

from __future__ import annotations

import importlib.metadata

from sigsvc.web.transport import HSTS
from tests.service.conftest import assert_schema


def test_hsts_on_https_answers_only(client):
    secure = client.get("/healthz", base_url="https://sigsvc.test")
    assert secure.headers["Strict-Transport-Security"] == HSTS
    assert "max-age=31536000" in HSTS
    plain = client.get("/healthz", base_url="http://sigsvc.test")
    assert "Strict-Transport-Security" not in plain.headers


def test_readyz_names_the_release(client):
    doc = client.get("/readyz").get_json()
    assert doc["version"] == importlib.metadata.version("sigsvc")
    assert_schema("health", doc)
