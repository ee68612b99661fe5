"""Admin API for admin tokens: mint, list, revoke, rotate (each change logged)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from sigsvc import credentials, db
from sigsvc.web.context import registry_log
from sigsvc.web.endpoints import endpoint

bp = Blueprint("admin_tokens", __name__)


@endpoint(
    bp,
    "/v1/admin-tokens",
    methods=["POST"],
    auth="admin",
    request="admin_token_create",
    responses={201: "admin_token_created"},
    summary="Mint an admin token; the answer holds it, shown only this once (logged).",
)
def create(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    session = db.session()
    row, token = credentials.create_admin_token(session, registry_log(), body["label"])
    session.commit()
    return {**credentials.admin_token_json(row), "token": token}, 201


@endpoint(
    bp,
    "/v1/admin-tokens",
    methods=["GET"],
    auth="admin",
    responses={200: "admin_token_list"},
    summary="List admin tokens in the database (never the tokens; SIGSVC_ADMIN_TOKEN not shown).",
)
def list_tokens() -> dict[str, Any]:
    rows = credentials.list_admin_tokens(db.session())
    return {"admin_tokens": [credentials.admin_token_json(r) for r in rows]}


@endpoint(
    bp,
    "/v1/admin-tokens/<int:token_id>/revoke",
    methods=["POST"],
    auth="admin",
    responses={200: "admin_token"},
    errors=("ALREADY_REVOKED",),
    summary="Revoke an admin token at once (logged: credential.changed).",
)
def revoke(token_id: int) -> dict[str, Any]:
    session = db.session()
    row = credentials.revoke_admin_token(session, registry_log(), token_id)
    session.commit()
    return credentials.admin_token_json(row)


@endpoint(
    bp,
    "/v1/admin-tokens/<int:token_id>/rotate",
    methods=["POST"],
    auth="admin",
    responses={200: "admin_token_created"},
    errors=("ALREADY_REVOKED",),
    summary="Revoke the token and mint its successor (same label), shown only this once.",
)
def rotate(token_id: int) -> dict[str, Any]:
    session = db.session()
    row, token = credentials.rotate_admin_token(session, registry_log(), token_id)
    session.commit()
    return {**credentials.admin_token_json(row), "token": token}
