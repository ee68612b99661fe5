"""/readyz is 503 with the reason whenever a part that requests need is unusable."""

from __future__ import annotations

import importlib.metadata

import pytest

from sigsvc.web import schemas
from tests.service.conftest import assert_schema


def _not_ready(client) -> str:
    answer = client.get("/readyz")
    assert answer.status_code == 503, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error"]["code"] == "NOT_READY"
    return str(body["error"]["message"])


def test_ready_when_everything_is_usable(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["intake"]["configured"] is True


def test_readyz_names_the_release(client):  # the certification report reads it
    doc = client.get("/readyz").get_json()
    assert doc["version"] == importlib.metadata.version("sigsvc")
    assert_schema("health", doc)


@pytest.mark.parametrize("intake_overrides", [{"LOG_KEY_FILE": ""}])
def test_intake_not_configured(client, intake_overrides):
    assert "SIGSVC_LOG_KEY_FILE" in _not_ready(client)


@pytest.mark.parametrize("intake_overrides", [{"INTAKE_KEYS": {}}])
def test_intake_without_keys(client, intake_overrides):
    assert "intake not configured" in _not_ready(client)


# A refreshed trusted list past NextUpdate + grace: tests/signatures/test_trust_service.py
# (test_trust_stale_answers_503: intake 503 TRUST_STALE and /readyz 503 naming the list).


@pytest.mark.parametrize(
    "intake_overrides",
    [{"BATCH_SEAL": {"SIGSVC_BATCH_SEAL_KEY": "/nonexistent.pem",
                     "SIGSVC_BATCH_SEAL_CERT": "/nonexistent.pem"}}],
)  # fmt: skip
def test_batches_configured_but_unusable(client, intake_overrides):
    assert "batches:" in _not_ready(client)


def test_schemas_missing(client, tmp_path, monkeypatch):
    monkeypatch.setattr(schemas, "SCHEMAS_DIR", tmp_path / "nothing-here")
    schemas.load_all.cache_clear()
    try:
        assert "schemas:" in _not_ready(client)
    finally:
        monkeypatch.undo()
        schemas.load_all.cache_clear()
        schemas.registry.cache_clear()
        schemas.validator.cache_clear()


@pytest.fixture
def past_next_update(app):  # type: ignore[no-untyped-def]
    """The statically pinned TEST list (SIGSVC_TRUSTED_LISTS) two days past NextUpdate."""
    from datetime import timedelta

    from certification.testpki import clock
    from sigsvc import services

    intake = services.get(app)
    assert intake.trust_watch is None  # static lists, no SIGSVC_TRUST_DIR
    intake.verification_time = lambda: clock.TL_NEXT_UPDATE + timedelta(days=2)
    return intake


def test_trust_stale_also_for_pinned_static_lists(client, past_next_update, initiative, container):
    from .conftest import post

    answer = post(client, initiative, container("valid_p384"))
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["error"]["code"] == "TRUST_STALE"
    assert "LV #1" in _not_ready(client)
