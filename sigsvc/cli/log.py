"""`sigsvc log rotate-key`: rotate the log signing key (token or file), co-signed by the old key;
`sigsvc log export FILE|-`: the whole log as an export tar for `sigaudit verify` (the same bytes
as GET /v1/log/export), with progress on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from audit.export import write_export
from audit.note import NoteSigner
from sigsvc import db, progress
from sigsvc.cli._common import echo_json, transaction
from sigsvc.cli.batches import configured_intake, parse_now
from sigsvc.keys import config as keyconfig
from sigsvc.keys import rotation
from sigsvc.keys.token import TokenError, token_for
from sigsvc.log.storage import SqlLogStorage


@click.group("log", help="The audit log: export it; rotate its signing key.")
def command() -> None:
    pass


@command.command("rotate-key")
@click.option("--new-label", help="the new key's label in the PKCS#11 token (SIGSVC_PKCS11_*)")
@click.option(
    "--generate/--existing",
    default=True,
    show_default=True,
    help="generate the new Ed25519 key in the token, or use one already there",
)
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="development: write a new key file here instead",
)
@click.option("--now", help="TEST ONLY (SIGSVC_TEST_ALLOW_NOW=1): event time (ISO 8601)")
@with_appcontext
def rotate_key(
    new_label: str | None, generate: bool, new_key_file: Path | None, now: str | None
) -> None:
    """Log key.rotated and a checkpoint signed by the current and the new key.

    Stop the service first; afterwards set SIGSVC_LOG_KEY_LABEL (or SIGSVC_LOG_KEY_FILE) to the
    new key and start it again.
    """
    if (new_label is None) == (new_key_file is None):
        raise click.UsageError("give exactly one of --new-label and --new-key-file")
    intake = configured_intake()
    old = intake.log.signer
    assert old is not None  # a configured service signs its log
    name = old.verifier().name  # the same note key name; the key id tells the keys apart
    new: NoteSigner
    try:
        if new_label is not None:
            token = keyconfig.token_config(
                {k: v for k, v in current_app.config.get("TOKEN_KEYS", {}).items() if v}
            )
            if token is None:
                raise click.ClickException(
                    "--new-label needs SIGSVC_PKCS11_MODULE/_TOKEN/_PIN_FILE"
                )
            new = rotation.token_key(token_for(token), new_label, name, generate=generate)
            setting = f"SIGSVC_LOG_KEY_LABEL={new_label}"
        else:
            assert new_key_file is not None
            new = rotation.file_key(new_key_file, name)
            setting = f"SIGSVC_LOG_KEY_FILE={new_key_file}"
        with db.session_scope(current_app) as session:
            at = parse_now(now, intake) if now else None  # None: the clock, under the lock
            done = rotation.rotate(session, intake.log, new, at)
    except (rotation.RotationError, TokenError, keyconfig.KeyConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    echo_json(
        {
            "old_key": done.old_vkey,
            "new_key": done.new_vkey,
            "event_index": done.event_index,
            "checkpoint": done.checkpoint.decode(),
            "next": f"restart every sigsvc process with {setting}",
        }
    )


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
