"""The `sigsvc` console script: Flask's CLI plus every command under sigsvc/commands/.

A module `sigsvc/commands/<name>.py` that defines a `click.Command` (or group) named `command`
is registered automatically; nothing here needs editing to add one.
"""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask.cli import FlaskGroup

import sigsvc.commands
from sigsvc.app import create_app


def discover_commands() -> list[click.Command]:
    found = []
    for module_info in sorted(pkgutil.iter_modules(sigsvc.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"sigsvc.commands.{module_info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            found.append(command)
    return found


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
