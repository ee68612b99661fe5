"""The `sigsvc` console script: Flask's CLI plus every command of the modules in this package.

A module `sigsvc/cli/<name>.py` that defines a `click.Command` (or group) named `command` is
registered automatically, here and only here; nothing needs editing to add one. Commands that
need the app use `flask.cli.with_appcontext` and `flask.current_app`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

import click
from flask.cli import FlaskGroup

if TYPE_CHECKING:
    from flask import Flask


def discover_commands() -> list[click.Command]:
    """Every `command` of the modules in this package, in module name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        command = getattr(importlib.import_module(f"{__name__}.{info.name}"), "command", None)
        if isinstance(command, click.Command):
            found.append(command)
    return found


def _create_app() -> Flask:
    from sigsvc.app import create_app  # the app only when a command needs it

    return create_app()


cli = FlaskGroup(
    name="sigsvc",
    create_app=_create_app,
    add_version_option=False,
    help="Operate sigsvc: database, credentials, initiatives, demo server.",
)
for _command in discover_commands():
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="sigsvc")
