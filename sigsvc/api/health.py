"""Liveness and readiness probes."""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app

from sigsvc import clockskew, db, services
from sigsvc.export import batches
from sigsvc.intake import trustlists
from sigsvc.keys.config import seal_source
from sigsvc.refusal import Refusal
from sigsvc.web import schemas
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("health", __name__)


@endpoint(
    bp,
    "/healthz",
    methods=["GET"],
    summary="The process is alive.",
    auth="none",
    responses={200: "health"},
)
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@endpoint(
    bp,
    "/readyz",
    methods=["GET"],
    auth="none",
    responses={200: "health"},
    summary="The database answers and its schema is at the Alembic head.",
    errors=("NOT_READY",),
)
def readyz() -> dict[str, Any]:
    engine = db.engine_of()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        current = db.current_revisions(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise ApiError("NOT_READY", "database unreachable") from exc
    if "sigsvc.migration_heads" not in current_app.extensions:  # scripts do not change at runtime
        current_app.extensions["sigsvc.migration_heads"] = db.head_revisions(
            current_app.config["DATABASE_URL"]
        )
    heads = current_app.extensions["sigsvc.migration_heads"]
    if current != heads:
        raise ApiError("NOT_READY", "database schema is not at the migration head")
    problems = unusable_parts()
    if problems:
        raise ApiError("NOT_READY", "; ".join(problems))
    return {
        "status": "ready",
        "version": _version(),
        "schema_revision": ",".join(sorted(current)),
        "intake": intake_status(),
        "clock": clockskew.status(current_app.config["CLOCK_SKEW_TOLERANCE"]),
    }


def unusable_parts() -> list[str]:
    """Why requests would fail now, one reason per part (empty: ready)."""
    problems = []
    try:
        schemas.load_all()
    except (OSError, ValueError) as exc:
        problems.append(f"schemas: {exc}")
    try:
        found = services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except services.IntakeConfigError as exc:
        problems.append(f"intake not configured: {exc}")
    else:
        stale = found.stale_lists()  # past NextUpdate + SIGSVC_TRUST_GRACE: intake refuses
        if stale:
            problems.append(
                f"trusted list(s) {', '.join(stale)} past NextUpdate (+ SIGSVC_TRUST_GRACE): "
                "intake answers 503 TRUST_STALE until `sigsvc trust refresh` fetches current ones"
            )
    skewed = clockskew.problem(current_app.config["CLOCK_SKEW_TOLERANCE"])
    if skewed:
        problems.append(skewed)
    settings = batches.settings(current_app)
    if seal_source(current_app.config) is not None:  # batches are optional; configured must work
        try:
            settings.sealer()
        except Refusal as exc:
            problems.append(f"batches: {exc.message}")
        folder = settings.directory  # the writer creates it (and missing parents) on first use
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            problems.append(f"batches: {settings.directory} is not writable")
    return problems


def _version() -> str:
    try:
        return importlib.metadata.version("sigsvc")
    except importlib.metadata.PackageNotFoundError:  # running from a bare source tree
        return "unknown"


def intake_status() -> dict[str, Any]:
    """Intake configuration of this process; test anchors and a test clock are flagged."""
    try:
        intake = services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except services.IntakeConfigError as exc:
        return {"configured": False, "error": str(exc)}
    status: dict[str, Any] = {
        "configured": True,
        "test_anchors": intake.test_anchors,
        "trusted_lists": len(intake.trust.lists),
        "lists": trustlists.describe(intake.trust),
        "stale_lists": intake.stale_lists(),
        "log_origin": intake.log.origin,
        "log_key": intake.log.signer.verifier().vkey if intake.log.signer else None,
        "log_key_source": intake.log_key_source.describe() if intake.log_key_source else None,
        "batch_seal_source": seal_source(current_app.config),
    }
    if intake.test_clock:
        status["test_clock"] = intake.verification_time().isoformat()
    return status
