"""`sigsvc tokens create-admin|list|revoke|rotate`: admin tokens (shown once, kept as digests)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from sigsvc import credentials
from sigsvc.cli._common import echo_json, registry_log, transaction


@click.group("tokens", help="Admin tokens.")
def command() -> None:
    pass


@command.command("create-admin")
@click.option("--label", default="operator", show_default=True, help="who or what holds it")
@with_appcontext
def create_admin(label: str) -> None:
    """Print a new admin token on stdout. Only its SHA-256 is stored: keep it now (logged)."""
    with transaction() as session:
        _row, token = credentials.create_admin_token(session, registry_log(), label)
    click.echo(token)


@command.command("list")
@with_appcontext
def list_() -> None:
    """Admin tokens in the database (ids, labels, revoked; never the tokens)."""
    with transaction() as session:
        echo_json([credentials.admin_token_json(r) for r in credentials.list_admin_tokens(session)])


@command.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke(token_id: int) -> None:
    """Revoke an admin token at once (logged)."""
    with transaction() as session:
        echo_json(
            credentials.admin_token_json(
                credentials.revoke_admin_token(session, registry_log(), token_id)
            )
        )


@command.command("rotate")
@click.argument("token_id", type=int)
@with_appcontext
def rotate(token_id: int) -> None:
    """Revoke an admin token and print its successor (same label) once (logged)."""
    with transaction() as session:
        _row, token = credentials.rotate_admin_token(session, registry_log(), token_id)
    click.echo(token)
