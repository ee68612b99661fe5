"""`sigsvc initiatives register|list|show|close`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TextIO

import click
from flask.cli import with_appcontext

from crypto.form import Regime
from sigsvc import registry
from sigsvc.api.initiatives import admin_json
from sigsvc.cli._common import echo_json, registry_log, transaction


@click.group("initiatives", help="Initiatives signatures are collected for.")
def command() -> None:
    pass


@command.command("register")
@click.option("--regime", required=True, type=click.Choice([r.value for r in Regime]))
@click.option("--registration-number", required=True, help="CVK registration number")
@click.option("--title", required=True)
@click.option(
    "--text-file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="UTF-8 file with the full text ('-' for stdin)",
)
@click.option("--starts-on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--ends-on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@with_appcontext
def register(
    regime: str,
    registration_number: str,
    title: str,
    text_file: TextIO,
    starts_on: datetime,
    ends_on: datetime,
) -> None:
    """Register an initiative; prints it as JSON."""
    new = registry.NewInitiative(
        regime=Regime(regime),
        registration_number=registration_number,
        title=title,
        full_text=text_file.read(),
        starts_on=starts_on.date(),
        ends_on=ends_on.date(),
    )
    with transaction() as session:
        echo_json(admin_json(registry.register_initiative(session, registry_log(), new)))


@command.command("list")
@with_appcontext
def list_() -> None:
    """List initiatives (without full texts)."""
    with transaction() as session:
        rows = registry.list_initiatives(session)
        echo_json([{k: v for k, v in admin_json(i).items() if k != "full_text"} for i in rows])


@command.command("show")
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def show(initiative_id: uuid.UUID) -> None:
    """Print one initiative with its full text."""
    with transaction() as session:
        echo_json(admin_json(registry.get_initiative(session, initiative_id)))


@command.command("close")
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def close(initiative_id: uuid.UUID) -> None:
    """Close collection for an initiative (irreversible)."""
    with transaction() as session:
        echo_json(admin_json(registry.close_initiative(session, registry_log(), initiative_id)))
