"""Admin API for batches: export, status, one-time download, acknowledgement."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request, send_file

from sigsvc import db
from sigsvc.db.models import Initiative
from sigsvc.db.models.batches import Batch
from sigsvc.export import batches, handover
from sigsvc.web.context import current_services, now
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("batches", __name__)


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/batches",
    methods=["POST"],
    auth="admin",
    responses={201: "batch"},
    errors=(
        "NOTHING_TO_EXPORT",
        "BATCH_NOT_CONFIGURED",
        "SEAL_EVIDENCE_UNAVAILABLE",
        "INTAKE_NOT_CONFIGURED",
        "DATA_PURGED",
    ),
    summary="Export every accepted, not withdrawn, not yet exported signature into a new "
    "sealed batch (logs batch.exported; withdrawals of these signatures are then refused).",
)
def create_batch(initiative_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    intake = current_services()
    return batches.export(current_app, intake, initiative_id, intake.clock()), 201


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/batches",
    methods=["GET"],
    auth="admin",
    responses={200: "batch_list"},
    summary="The initiative's batches in sequence order.",
)
def list_batches(initiative_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    if session.get(Initiative, initiative_id) is None:
        raise ApiError("NOT_FOUND", "no such initiative")
    rows = session.scalars(
        sa.select(Batch).where(Batch.initiative_id == initiative_id).order_by(Batch.sequence)
    )
    return {"batches": [batches.batch_json(b) for b in rows]}


def _get(batch_id: str) -> Batch:
    batch = db.session().get(Batch, batch_id)
    if batch is None:
        raise ApiError("NOT_FOUND", "no such batch")
    return batch


@endpoint(
    bp,
    "/v1/batches/<uuid:batch_id>",
    methods=["GET"],
    auth="admin",
    responses={200: "batch"},
    summary="One batch: status (created, handed_over, acknowledged, purged) and log positions.",
)
def get_batch(batch_id: uuid.UUID) -> dict[str, Any]:
    return batches.batch_json(_get(str(batch_id)))


@endpoint(
    bp,
    "/v1/batches/<uuid:batch_id>/download-token",
    methods=["POST"],
    auth="admin",
    responses={201: "download_token"},
    errors=("BATCH_LOCKED",),
    summary="Issue a one-time download token for the batch (shown once, stored hashed; a new "
    "token replaces the previous one).",
)
def download_token(batch_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    session = db.session()
    ttl = timedelta(hours=current_app.config["DOWNLOAD_TOKEN_TTL_HOURS"])
    token, expires = handover.new_download_token(session, str(batch_id), now(), ttl)
    session.commit()
    return {
        "batch": str(batch_id),
        "token": token,
        "url": f"/v1/batches/{batch_id}/artefact",
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }, 201


@endpoint(
    bp,
    "/v1/batches/<uuid:batch_id>/artefact",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="application/vnd.etsi.asic-e+zip",
    errors=("DOWNLOAD_TOKEN_INVALID",),
    summary="Download the batch with its one-time token (Authorization: Bearer <token>); "
    "every download is logged and counted.",
)
def artefact(batch_id: uuid.UUID) -> Response:
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
    session = db.session()
    path = handover.redeem_download_token(session, str(batch_id), token, now())
    session.commit()  # the token is spent before a byte is sent
    return send_file(
        path,
        mimetype="application/vnd.etsi.asic-e+zip",
        as_attachment=True,
        download_name=path.name,
    )


@endpoint(
    bp,
    "/v1/batches/<uuid:batch_id>/acknowledgement",
    methods=["POST"],
    auth="admin",
    responses={200: "batch"},
    errors=("ACKNOWLEDGEMENT_INVALID", "BATCH_LOCKED", "INTAKE_NOT_CONFIGURED"),
    request_media=("text/plain",),
    summary="Record CVK's signed acknowledgement (text/plain: the C2SP signed note) after a "
    "download; verified with SIGSVC_RECEIVER_KEY, logged as batch.acknowledged, locks the batch.",
)
def acknowledgement(batch_id: uuid.UUID) -> dict[str, Any]:
    intake = current_services()
    try:
        key = handover.receiver_key(current_app)
    except handover.HandoverError as exc:
        raise ApiError("ACKNOWLEDGEMENT_INVALID", str(exc)) from exc
    session = db.session()
    note = request.get_data()
    batch = handover.acknowledge(session, intake, key, str(batch_id), note, intake.clock())
    session.commit()
    return batches.batch_json(batch)
