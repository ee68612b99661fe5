"""Helpers for service tests: registering through the API, table counts, schema checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from sigsvc import db
from sigsvc.db import Base
from sigsvc.db.models import import_all_models
from sigsvc.web import schemas

VALID_INITIATIVE: dict[str, Any] = {
    "regime": "art22_bill",
    "registration_number": "2026/17",
    "title": "Grozījumi Valsts valodas likumā",
    "full_text": "Likumprojekts.\n1. pants. Teksts ar garumzīmēm: ā č ē ģ ī ķ ļ ņ š ū ž.\n",
    "starts_on": "2026-03-01",
    "ends_on": "2027-02-28",
}


def assert_schema(name: str, value: Any) -> None:
    schemas.validator(name).validate(value)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert_schema("error", body)
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]
    return body


@pytest.fixture
def table_counts(app: Flask) -> Callable[[], dict[str, int]]:
    """Row count of every table, to prove that a rejected request stored nothing."""
    import_all_models()

    def counts() -> dict[str, int]:
        with db.engine_of(app).connect() as conn:
            return {
                name: conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0
                for name, table in Base.metadata.tables.items()
            }

    return counts


@pytest.fixture
def create_initiative(
    client: FlaskClient, admin_headers: dict[str, str]
) -> Callable[..., dict[str, Any]]:
    def create(**overrides: Any) -> dict[str, Any]:
        response = client.post(
            "/v1/initiatives", json={**VALID_INITIATIVE, **overrides}, headers=admin_headers
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    return create


@pytest.fixture
def create_platform(
    client: FlaskClient, admin_headers: dict[str, str]
) -> Callable[..., dict[str, Any]]:
    def create(name: str, initiative_ids: list[str]) -> dict[str, Any]:
        response = client.post(
            "/v1/platforms",
            json={"name": name, "initiative_ids": initiative_ids},
            headers=admin_headers,
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    return create
