"""The `sigsvc` console script: Flask's CLI plus every command under sigsvc/commands/.

A module `sigsvc/commands/<name>.py` that defines a `click.Command` (or group) named `command`
is registered automatically; nothing here needs editing to add one.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from sigsvc.app import create_app
from sigsvc.commands import discover_commands

cli = FlaskGroup(
    name="sigsvc",
    create_app=lambda: create_app(),
    add_version_option=False,
    help="Operate sigsvc: database, credentials, initiatives, demo server.",
)
for _command in discover_commands():
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="sigsvc")
