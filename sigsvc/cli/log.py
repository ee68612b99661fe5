"""`sigsvc log export FILE|-`: the whole log as an export tar for `sigaudit verify` (the same
bytes as GET /v1/log/export), with progress on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from audit.export import write_export
from sigsvc import progress
from sigsvc.cli._common import transaction
from sigsvc.log.storage import SqlLogStorage


@click.group("log", help="The audit log: export it for sigaudit.")
def command() -> None:
    pass


@command.command("export")
@click.argument("out")
@with_appcontext
def export(out: str) -> None:
    """Write the log up to its latest checkpoint to OUT ('-': stdout, e.g. | gzip)."""

    def report(done: int, total: int) -> None:
        progress.report("log export", done, total)

    with transaction() as session, progress.on_terminal():
        if out == "-":
            summary = write_export(SqlLogStorage(session), sys.stdout.buffer, report)
            sys.stdout.buffer.flush()
        else:
            with Path(out).open("wb") as stream:
                summary = write_export(SqlLogStorage(session), stream, report)
    click.echo(f"{summary.size} entries, {summary.checkpoints} checkpoints", err=True)
