"""`sigsvc retention purge [--now ISO]`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from sigsvc import db, progress
from sigsvc.cli._common import echo_json
from sigsvc.cli.batches import configured_intake, parse_now
from sigsvc.export import retention


@click.group("retention", help="Delete personal data after the retention period.")
def command() -> None:
    pass


@command.command("purge")
@click.option(
    "--now",
    "now_text",
    help="TEST ONLY (SIGSVC_TEST_ALLOW_NOW=1): ISO 8601 instant to purge as of",
)
@with_appcontext
def purge(now_text: str | None) -> None:
    """Purge batches acknowledged more than SIGSVC_RETENTION_DAYS ago; print what was logged."""
    intake = configured_intake()
    days = int(current_app.config["RETENTION_DAYS"])
    with progress.on_terminal():
        purged = retention.purge(db.sessions_of(), intake, parse_now(now_text, intake), days)
    echo_json(purged)
