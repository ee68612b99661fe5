"""HSTS on HTTPS answers only (/readyz naming the release: tests/signatures/test_readiness.py)."""

from __future__ import annotations

from sigsvc.web.transport import HSTS


def test_hsts_on_https_answers_only(client):
    secure = client.get("/healthz", base_url="https://sigsvc.test")
    assert secure.headers["Strict-Transport-Security"] == HSTS
    assert "max-age=31536000" in HSTS
    plain = client.get("/healthz", base_url="http://sigsvc.test")
    assert "Strict-Transport-Security" not in plain.headers
