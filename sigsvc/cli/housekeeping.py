"""`sigsvc housekeeping`: one housekeeping pass now (the service also runs it periodically)."""

from __future__ import annotations

import dataclasses

import click
from flask import current_app
from flask.cli import with_appcontext

from sigsvc import housekeeping
from sigsvc.cli._common import echo_json


@click.command("housekeeping")
@with_appcontext
def command() -> None:
    """Delete idempotency answers past SIGSVC_IDEMPOTENCY_RETENTION_HOURS and spent
    rate-limit state; print how many."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    echo_json(dataclasses.asdict(housekeeping.run(app)))
