"""Admin tokens: from SIGSVC_ADMIN_TOKEN or the database, digests only, revocable."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from sigsvc import db
from sigsvc.app import create_app
from sigsvc.config import ConfigError
from sigsvc.db.models import AdminToken
from tests.service.conftest import assert_error

ENV_TOKEN = "operator-chosen-token-with-enough-entropy-0123456789"


def test_env_admin_token_works_and_is_not_kept_in_clear(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIGSVC_ADMIN_TOKEN", ENV_TOKEN)
    app = create_app({"DATABASE_URL": database_url}, instance_path=str(tmp_path))
    try:
        assert ENV_TOKEN not in repr(app.config)
        client = app.test_client()
        ok = client.get("/v1/initiatives", headers={"Authorization": f"Bearer {ENV_TOKEN}"})
        assert ok.status_code == 200
        bad = client.get("/v1/initiatives", headers={"Authorization": f"Bearer {ENV_TOKEN}x"})
        assert_error(bad, 401, "TOKEN_INVALID")
    finally:
        db.engine_of(app).dispose()


def test_short_env_admin_token_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGSVC_ADMIN_TOKEN", "admin")
    with pytest.raises(ConfigError):
        create_app(instance_path=str(tmp_path))


def test_database_holds_only_the_digest(app, admin_token):
    with db.session_scope(app) as session:
        row = session.scalars(sa.select(AdminToken)).one()
        assert row.token_sha256 == hashlib.sha256(admin_token.encode()).digest()
        assert admin_token.encode() not in row.token_sha256


def test_revoked_admin_token_is_rejected(app, client, admin_headers):
    assert client.get("/v1/initiatives", headers=admin_headers).status_code == 200
    with db.session_scope(app) as session:
        session.scalars(sa.select(AdminToken)).one().revoked_at = sa.func.now()
    assert_error(client.get("/v1/initiatives", headers=admin_headers), 401, "TOKEN_INVALID")
