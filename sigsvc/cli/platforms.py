"""`sigsvc platforms create|list|show|revoke|rotate-key|add-initiative|remove-initiative`."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext

from sigsvc import credentials
from sigsvc.api.platforms import platform_json
from sigsvc.cli._common import echo_json, registry_log, transaction


@click.group("platforms", help="Platforms that post signatures.")
def command() -> None:
    pass


@command.command("create")
@click.option("--name", required=True)
@click.option("--initiative", "initiatives", multiple=True, type=click.UUID, help="repeat for each")
@with_appcontext
def create(name: str, initiatives: tuple[uuid.UUID, ...]) -> None:
    """Register a platform; prints it with its API key (shown only this once; logged)."""
    with transaction() as session:
        platform, key = credentials.create_platform(session, registry_log(), name, initiatives)
        echo_json({**platform_json(platform), "api_key": key})


@command.command("list")
@with_appcontext
def list_() -> None:
    """List platforms (never their keys)."""
    with transaction() as session:
        echo_json([platform_json(p) for p in credentials.list_platforms(session)])


@command.command("show")
@click.argument("platform_id", type=click.UUID)
@with_appcontext
def show(platform_id: uuid.UUID) -> None:
    """One platform (never its key)."""
    with transaction() as session:
        echo_json(platform_json(credentials.get_platform(session, platform_id)))


@command.command("revoke")
@click.argument("platform_id", type=click.UUID)
@with_appcontext
def revoke(platform_id: uuid.UUID) -> None:
    """Revoke the platform: its key stops working at once (logged)."""
    with transaction() as session:
        echo_json(platform_json(credentials.revoke_platform(session, registry_log(), platform_id)))


@command.command("rotate-key")
@click.argument("platform_id", type=click.UUID)
@with_appcontext
def rotate_key(platform_id: uuid.UUID) -> None:
    """Print a new API key for the platform (shown once); the old one stops working (logged)."""
    with transaction() as session:
        platform, key = credentials.rotate_platform_key(session, registry_log(), platform_id)
        echo_json({**platform_json(platform), "api_key": key})


@command.command("add-initiative")
@click.argument("platform_id", type=click.UUID)
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def add_initiative(platform_id: uuid.UUID, initiative_id: uuid.UUID) -> None:
    """Let the platform post to one more initiative (logged)."""
    with transaction() as session:
        echo_json(
            platform_json(
                credentials.add_initiative(session, registry_log(), platform_id, initiative_id)
            )
        )


@command.command("remove-initiative")
@click.argument("platform_id", type=click.UUID)
@click.argument("initiative_id", type=click.UUID)
@with_appcontext
def remove_initiative(platform_id: uuid.UUID, initiative_id: uuid.UUID) -> None:
    """The platform may no longer post to this initiative (logged)."""
    with transaction() as session:
        platform = credentials.remove_initiative(
            session, registry_log(), platform_id, initiative_id
        )
        echo_json(platform_json(platform))
