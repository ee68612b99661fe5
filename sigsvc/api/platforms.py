"""Admin API for platforms (the sites that post signatures) and their API keys."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint

from sigsvc import db, registry
from sigsvc.db.models import Platform
from sigsvc.web.endpoints import endpoint

bp = Blueprint("platforms", __name__)


def platform_json(platform: Platform) -> dict[str, Any]:
    return {
        "id": str(platform.id),
        "name": platform.name,
        "initiative_ids": [str(i.id) for i in platform.initiatives],
        "created_at": platform.created_at.isoformat(),
        "revoked": platform.revoked_at is not None,
    }


@endpoint(
    bp,
    "/v1/platforms",
    methods=["POST"],
    auth="admin",
    request="platform_create",
    responses={201: "platform_created"},
    errors=("DUPLICATE_NAME",),
    summary="Register a platform; the answer holds its API key, shown only this once.",
)
def create_platform(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    session = db.session()
    platform, key = registry.create_platform(
        session, body["name"], [uuid.UUID(i) for i in body["initiative_ids"]]
    )
    session.commit()
    return {**platform_json(platform), "api_key": key}, 201


@endpoint(
    bp,
    "/v1/platforms",
    methods=["GET"],
    auth="admin",
    responses={200: "platform_list"},
    summary="List platforms (never their keys).",
)
def list_platforms() -> dict[str, Any]:
    return {"platforms": [platform_json(p) for p in registry.list_platforms(db.session())]}
