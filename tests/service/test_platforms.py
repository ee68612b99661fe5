"""Platforms: API keys shown once, stored as digests, valid only for their initiatives."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from sigsvc import db
from sigsvc.db.models import Platform
from tests.service.conftest import assert_error, assert_schema


def test_create_returns_key_once_and_stores_only_its_digest(
    app, client, admin_headers, create_initiative
):
    initiative = create_initiative()
    response = client.post(
        "/v1/platforms",
        json={"name": "manabalss", "initiative_ids": [initiative["id"]]},
        headers=admin_headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert_schema("platform_created", body)
    assert body["initiative_ids"] == [initiative["id"]]
    with db.session_scope(app) as session:
        stored = session.scalars(sa.select(Platform)).one()
        assert stored.key_sha256 == hashlib.sha256(body["api_key"].encode()).digest()
    listed = client.get("/v1/platforms", headers=admin_headers).get_json()
    assert_schema("platform_list", listed)
    assert "api_key" not in listed["platforms"][0]
    assert body["api_key"] not in client.get("/v1/platforms", headers=admin_headers).text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x"}, "MISSING_FIELD"),
        ({"name": "x", "initiative_ids": "abc"}, "WRONG_TYPE"),
        ({"name": "x", "initiative_ids": ["not-a-uuid"]}, "INVALID_FIELD"),
        ({"name": "x", "initiative_ids": [], "key": "mine"}, "UNKNOWN_FIELD"),
        ({"name": "x\n", "initiative_ids": []}, "INVALID_FIELD"),
        (
            {"name": "x", "initiative_ids": ["00000000-0000-4000-8000-000000000000"]},
            "INVALID_FIELD",
        ),
    ],
)
def test_bad_platform_requests_store_nothing(client, admin_headers, table_counts, body, code):
    before = table_counts()
    assert_error(client.post("/v1/platforms", json=body, headers=admin_headers), 400, code)
    assert table_counts() == before


def test_duplicate_name_is_409(client, admin_headers, create_platform, table_counts):
    create_platform("same", [])
    before = table_counts()
    response = client.post(
        "/v1/platforms", json={"name": "same", "initiative_ids": []}, headers=admin_headers
    )
    assert_error(response, 409, "DUPLICATE_NAME")
    assert table_counts() == before


def test_platform_key_cannot_create_platforms(client, create_platform, table_counts):
    key = create_platform("p", [])["api_key"]
    before = table_counts()
    response = client.post(
        "/v1/platforms",
        json={"name": "q", "initiative_ids": []},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert_error(response, 403, "FORBIDDEN")
    assert table_counts() == before


def test_revoked_key_is_rejected(app, client, create_initiative, create_platform):
    initiative = create_initiative()
    key = create_platform("p", [initiative["id"]])["api_key"]
    query = "given_name=A&surname=B&personal_code=010101-10000&date=2026-04-01"
    url = f"/v1/initiatives/{initiative['id']}/form?{query}"
    assert client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    with db.session_scope(app) as session:
        session.scalars(sa.select(Platform)).one().revoked_at = sa.func.now()
    assert_error(client.get(url, headers={"Authorization": f"Bearer {key}"}), 401, "TOKEN_INVALID")


@pytest.mark.parametrize("field", ["name", "initiative_ids"])
def test_trailing_newline_does_not_slip_through_a_pattern(client, admin_headers, field):
    # Python's `$` matches before a final newline; the schemas must not rely on it.
    body = {"name": "ok", "initiative_ids": ["00000000-0000-4000-8000-000000000000"]}
    if field == "name":
        body["name"] += "\n"
    else:
        body["initiative_ids"] = ["00000000-0000-4000-8000-000000000000\n"]
    assert_error(
        client.post("/v1/platforms", json=body, headers=admin_headers), 400, "INVALID_FIELD"
    )
