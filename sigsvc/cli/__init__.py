"""The `sigsvc` console script: Flask's CLI plus every command of the modules in this package.

A module `sigsvc/cli/<name>.py` that defines a `click.Command` (or group) named `command` is
registered automatically, here and only here; nothing needs editing to add one. Commands that
need the app use `flask.cli.with_appcontext` and `flask.current_app`.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import FlaskGroup

if TYPE_CHECKING:
    from flask import Flask

HERE = Path(__file__).parent


def discover_commands() -> list[click.Command]:
    """Every `command` of the modules in this package, in module name order (imports them)."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        command = getattr(importlib.import_module(f"{__name__}.{info.name}"), "command", None)
        if isinstance(command, click.Command):
            found.append(command)
    return found


def _declared(module: str) -> tuple[str, str] | None:
    """(name, one-line help) of the module's `command`, read from its source without importing
    it: most commands import the verifier and the ORM (seconds), `sigsvc --help` should not."""
    tree = ast.parse((HERE / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name != "command":
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and decorator.args:
                name = decorator.args[0]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    helps = [k.value for k in decorator.keywords if k.arg == "help"]
                    text = helps[0] if helps else ast.Constant(ast.get_docstring(node) or "")
                    value = text.value if isinstance(text, ast.Constant) else ""
                    return name.value, str(value).strip().split("\n")[0]
    return None


class _LazyGroup(FlaskGroup):
    """Imports a command's module only when that command runs (or its own help is asked)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}  # name -> (module, one-line help)
        self.extensions: list[str] = []  # modules adding subcommands to another's group
        for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            declared = _declared(info.name)
            if declared is not None:
                self.lazy[declared[0]] = (info.name, declared[1])
            else:
                self.extensions.append(info.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module = importlib.import_module(f"{__name__}.{self.lazy[cmd_name][0]}")
            self.add_command(module.command)
            for name in self.extensions:  # e.g. cli/archive.py: `batches timestamp-archive`
                importlib.import_module(f"{__name__}.{name}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Not FlaskGroup's: that builds the app to ask it for more commands; sigsvc registers
        # every command here (plus Flask's own run/shell/routes).
        return sorted(set(self.commands) | set(self.lazy))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                rows.append((name, self.lazy[name][1]))
            else:
                command = self.commands[name]
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _create_app() -> Flask:
    from sigsvc.app import create_app  # the app only when a command needs it

    return create_app()


cli = _LazyGroup(
    name="sigsvc",
    create_app=_create_app,
    add_version_option=False,
    help="Operate sigsvc: database, credentials, initiatives, demo server.",
)


def main() -> None:
    cli.main(prog_name="sigsvc")
