"""Admin API for platforms (the sites that post signatures) and their API keys."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint

from sigsvc import credentials, db
from sigsvc.db.models import Platform
from sigsvc.web.context import registry_log
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
    platform, key = credentials.create_platform(
        session, registry_log(), body["name"], [uuid.UUID(i) for i in body["initiative_ids"]]
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
    return {"platforms": [platform_json(p) for p in credentials.list_platforms(db.session())]}


@endpoint(
    bp,
    "/v1/platforms/<uuid:platform_id>",
    methods=["GET"],
    auth="admin",
    responses={200: "platform"},
    summary="One platform (never its key).",
)
def get_platform(platform_id: uuid.UUID) -> dict[str, Any]:
    return platform_json(credentials.get_platform(db.session(), platform_id))


@endpoint(
    bp,
    "/v1/platforms/<uuid:platform_id>/revoke",
    methods=["POST"],
    auth="admin",
    responses={200: "platform"},
    errors=("ALREADY_REVOKED",),
    summary="Revoke the platform: its key stops working at once (logged: credential.changed).",
)
def revoke_platform(platform_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    platform = credentials.revoke_platform(session, registry_log(), platform_id)
    session.commit()
    return platform_json(platform)


@endpoint(
    bp,
    "/v1/platforms/<uuid:platform_id>/rotate-key",
    methods=["POST"],
    auth="admin",
    responses={200: "platform_created"},
    errors=("ALREADY_REVOKED",),
    summary="A new API key for the platform, shown once; the old key stops working at once.",
)
def rotate_platform_key(platform_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    platform, key = credentials.rotate_platform_key(session, registry_log(), platform_id)
    session.commit()
    return {**platform_json(platform), "api_key": key}


@endpoint(
    bp,
    "/v1/platforms/<uuid:platform_id>/initiatives/<uuid:initiative_id>",
    methods=["PUT"],
    auth="admin",
    responses={200: "platform"},
    errors=("ALREADY_REVOKED",),
    summary="Let the platform post to one more initiative (idempotent).",
)
def add_initiative(platform_id: uuid.UUID, initiative_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    platform = credentials.add_initiative(session, registry_log(), platform_id, initiative_id)
    session.commit()
    return platform_json(platform)


@endpoint(
    bp,
    "/v1/platforms/<uuid:platform_id>/initiatives/<uuid:initiative_id>",
    methods=["DELETE"],
    auth="admin",
    responses={200: "platform"},
    summary="The platform may no longer post to this initiative.",
)
def remove_initiative(platform_id: uuid.UUID, initiative_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    platform = credentials.remove_initiative(session, registry_log(), platform_id, initiative_id)
    session.commit()
    return platform_json(platform)
