"""The `sigsvc` console script: Flask's CLI plus every command of the modules in this package.

A module `sigsvc/cli/<name>.py` that defines a `click.Command` (or group) named `command` is
registered automatically, here and only here; nothing needs editing to add one. Commands that
need the app use `flask.cli.with_appcontext` and `flask.current_app`.

Command modules are imported only when their command runs: the name is read from the source
(`@click.group("name")` / `@click.command("name")` on `command`), so `sigsvc verify --help`
does not import the database models, pyHanko and Flask's app (issue 10: <= 0.5 s).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
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


def _scan() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(command name -> module, module -> modules that add subcommands to its group), read
    from each module's source without importing it."""
    found: dict[str, str] = {}
    extends: dict[str, list[str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        source = Path(__file__).with_name(f"{info.name}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        names = [name for node in tree.body for name in _command_names(node)]
        for name in names:
            found[name] = info.name
        if not names:  # e.g. archive.py: `@batches_group.command(...)` on batches' group
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    f"{__name__}."
                ):
                    target = (node.module or "").rsplit(".", 1)[1]
                    if any(alias.name == "command" for alias in node.names):
                        extends.setdefault(target, []).append(info.name)
    return found, extends


def _command_names(node: ast.stmt) -> list[str]:
    if not (isinstance(node, ast.FunctionDef) and node.name == "command"):
        return []
    return [
        decorator.args[0].value
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ("command", "group")
        and decorator.args
        and isinstance(decorator.args[0], ast.Constant)
        and isinstance(decorator.args[0].value, str)
    ]


def command_modules() -> dict[str, str]:
    """Command name -> module name, read from each module's source without importing it."""
    return _scan()[0]


class _LazyCli(FlaskGroup):
    """FlaskGroup that imports a command's module when that command is asked for."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy, self.extensions = _scan()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.lazy.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            command = getattr(importlib.import_module(f"{__name__}.{module}"), "command", None)
            for extension in self.extensions.get(module, []):
                importlib.import_module(f"{__name__}.{extension}")  # adds its subcommands
            if isinstance(command, click.Command):
                self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})


def _create_app() -> Flask:
    from sigsvc.app import create_app  # the app only when a command needs it

    return create_app()


cli = _LazyCli(
    name="sigsvc",
    create_app=_create_app,
    add_version_option=False,
    help="Operate sigsvc: database, credentials, initiatives, demo server.",
)


def main() -> None:
    cli.main(prog_name="sigsvc")
