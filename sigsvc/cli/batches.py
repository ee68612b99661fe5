"""`sigsvc batches create|list|show|push|download-token|acknowledge`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import BinaryIO

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from sigsvc import progress, services
from sigsvc.cli._common import echo_json, require_test_now, transaction
from sigsvc.db.models.batches import Batch
from sigsvc.export import batches, handover
from sigsvc.refusal import Refusal
from sigsvc.services import IntakeConfigError, Services


def configured_intake() -> Services:
    try:
        return services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except IntakeConfigError as exc:
        raise click.ClickException(f"not configured: {exc}") from exc


def parse_now(value: str | None, intake: Services) -> datetime:
    if value is None:
        return intake.clock()
    require_test_now()
    try:
        return services.parse_instant(value, "--now")
    except IntakeConfigError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group("batches", help="Signed batches for CVK: export, handover, acknowledgement.")
def command() -> None:
    pass


@command.command("create")
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def create(initiative_id: uuid.UUID) -> None:
    """Export every accepted, not yet exported signature of INITIATIVE_ID into a new batch."""
    try:
        intake = configured_intake()
        with progress.on_terminal():
            made = batches.export(current_app, intake, initiative_id, intake.clock())
        echo_json(made)
    except Refusal as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@command.command("list")
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def list_(initiative_id: uuid.UUID) -> None:
    """List the initiative's batches in sequence order."""
    with transaction() as session:
        rows = session.scalars(
            sa.select(Batch).where(Batch.initiative_id == initiative_id).order_by(Batch.sequence)
        )
        echo_json([batches.batch_json(b) for b in rows])


@command.command("show")
@click.argument("batch_id")
@with_appcontext
def show(batch_id: str) -> None:
    """Print one batch's status (and where its artefact is)."""
    with transaction() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise click.ClickException("NOT_FOUND: no such batch")
        echo_json({**batches.batch_json(batch), "artefact_path": batch.artefact_path})


@command.command("push")
@click.argument("batch_id")
@click.option("--attempts", default=6, show_default=True, type=click.IntRange(1, 100))
@click.option("--base-delay", default=1.0, show_default=True, type=click.FloatRange(0, 3600))
@with_appcontext
def push(batch_id: str, attempts: int, base_delay: float) -> None:
    """Push BATCH_ID to SIGSVC_HANDOVER_URL (retries with exponential backoff) and record the
    receiver's signed acknowledgement."""
    policy = handover.PushPolicy(attempts=attempts, base_delay=base_delay)
    try:
        echo_json(handover.push(current_app, configured_intake(), batch_id, policy=policy))
    except handover.HandoverError as exc:
        raise click.ClickException(str(exc)) from exc
    except Refusal as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@command.command("download-token")
@click.argument("batch_id")
@with_appcontext
def download_token(batch_id: str) -> None:
    """Issue a one-time download token for BATCH_ID (printed once, stored hashed)."""
    ttl = timedelta(hours=current_app.config["DOWNLOAD_TOKEN_TTL_HOURS"])
    issued = services.log_service(current_app).clock()
    with transaction() as session:
        token, expires = handover.new_download_token(session, batch_id, issued, ttl)
    echo_json(
        {
            "batch": batch_id,
            "token": token,
            "url": f"/v1/batches/{batch_id}/artefact",
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
        }
    )


@command.command("acknowledge")
@click.argument("batch_id")
@click.argument("note", type=click.File("rb"))
@with_appcontext
def acknowledge(batch_id: str, note: BinaryIO) -> None:
    """Record the receiver's signed acknowledgement NOTE (a file; '-' for stdin)."""
    try:
        key = handover.receiver_key(current_app)
    except handover.HandoverError as exc:
        raise click.ClickException(str(exc)) from exc
    intake = configured_intake()
    with transaction() as session:
        batch = handover.acknowledge(session, intake, key, batch_id, note.read(), intake.clock())
        echo_json(batches.batch_json(batch))
