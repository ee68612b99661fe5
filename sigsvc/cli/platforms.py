"""`sigsvc platforms create|list`: platforms and their per-initiative API keys."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext

from sigsvc import registry
from sigsvc.api.platforms import platform_json
from sigsvc.cli._common import echo_json, transaction


@click.group("platforms", help="Platforms that post signatures.")
def command() -> None:
    pass


@command.command("create")
@click.option("--name", required=True)
@click.option("--initiative", "initiatives", multiple=True, type=click.UUID, help="repeat for each")
@with_appcontext
def create(name: str, initiatives: tuple[uuid.UUID, ...]) -> None:
    """Register a platform; prints it with its API key (shown only this once)."""
    with transaction() as session:
        platform, key = registry.create_platform(session, name, initiatives)
        echo_json({**platform_json(platform), "api_key": key})


@command.command("list")
@with_appcontext
def list_() -> None:
    """List platforms (never their keys)."""
    with transaction() as session:
        echo_json([platform_json(p) for p in registry.list_platforms(session)])
