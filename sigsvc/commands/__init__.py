"""CLI commands: each module's `command` (a click.Command) is added to `sigsvc` by cli.py.

Commands that need the app use `flask.cli.with_appcontext` and `flask.current_app`.
"""

from __future__ import annotations

import importlib
import pkgutil

import click


def discover_commands() -> list[click.Command]:
    """Every `command` of the modules in this package, in module name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        command = getattr(importlib.import_module(f"{__name__}.{info.name}"), "command", None)
        if isinstance(command, click.Command):
            found.append(command)
    return found
