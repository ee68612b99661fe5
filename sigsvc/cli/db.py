"""`sigsvc db upgrade|current|heads|revision`: Alembic, configured from the app's DATABASE_URL."""

from __future__ import annotations

import re

import click
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext

from sigsvc import db


@click.group("db", help="Database schema (Alembic migrations in sigsvc/db/migrations/).")
def command() -> None:
    pass


@command.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    db.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {', '.join(sorted(db.current_revisions(db.engine_of()))) or '-'}")


@command.command("current")
@with_appcontext
def current() -> None:
    """Print the revision the database is at."""
    click.echo(", ".join(sorted(db.current_revisions(db.engine_of()))) or "(empty)")


@command.command("revision")
@click.option("-m", "--message", required=True, help="short description, becomes the file name")
@click.option("--autogenerate/--empty", default=True, help="diff models against the database")
@with_appcontext
def revision(message: str, autogenerate: bool) -> None:
    """Create sigsvc/db/migrations/versions/NNNN_<message>.py with the next number."""
    cfg = db.alembic_config(current_app.config["DATABASE_URL"])
    revisions = ScriptDirectory.from_config(cfg).walk_revisions()
    numbers = [int(r.revision) for r in revisions if re.fullmatch(r"\d{4}", r.revision)]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    alembic_command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=rev_id)
