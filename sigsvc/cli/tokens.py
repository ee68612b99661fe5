"""`sigsvc tokens create-admin`: mint an admin token (printed once, stored as a digest)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from sigsvc.cli._common import transaction
from sigsvc.web.auth import create_admin_token


@click.group("tokens", help="Admin tokens.")
def command() -> None:
    pass


@command.command("create-admin")
@click.option("--label", default="operator", show_default=True, help="who or what holds it")
@with_appcontext
def create_admin(label: str) -> None:
    """Print a new admin token on stdout. Only its SHA-256 is stored: keep it now."""
    with transaction() as session:
        token = create_admin_token(session, label)
    click.echo(token)
