"""`sigsvc trust refresh`: EU LOTL -> national list, verified and stored by sequence number."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import click

from sigsvc.cli._common import require_test_now


@click.group("trust", help="Trusted lists: refresh from the EU LOTL.")
def command() -> None:
    pass


def _paths(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


@command.command("refresh")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("SIGSVC_TRUST_DIR") or "instance/trust",
    show_default="$SIGSVC_TRUST_DIR or instance/trust",
    help="Where every list version is kept.",
)
@click.option(
    "--lotl-url",
    default=lambda: os.environ.get("SIGSVC_LOTL_URL") or None,
    help="The list of the lists (default: the EU LOTL).",
)
@click.option(
    "--lotl-signer",
    "lotl_signers",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pinned LOTL signing certificate (PEM/DER); repeatable. Default: $SIGSVC_LOTL_SIGNERS.",
)
@click.option("--territory", "territories", multiple=True, help="Default: LV.")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("SIGSVC_TRUST_CA_FILE") or None,
    help="CA certificates (PEM) the list servers' HTTPS must chain to, instead of the "
    "system's. Default: $SIGSVC_TRUST_CA_FILE.",
)
@click.option("--now", "now_text", hidden=True, help="TEST ONLY: ISO 8601 fetch time.")
def refresh(
    directory: Path,
    lotl_url: str | None,
    lotl_signers: tuple[Path, ...],
    territories: tuple[str, ...],
    ca_file: Path | None,
    now_text: str | None,
) -> None:
    """Fetch the LOTL, verify it with the pinned signers, follow it to each territory's list,
    verify that with the operators the LOTL announces, store it; print one JSON line each."""
    from sigsvc.intake import trustlists

    signer_files = [str(p) for p in lotl_signers] or _paths(
        os.environ.get("SIGSVC_LOTL_SIGNERS", "")
    )
    if not signer_files:
        raise click.UsageError("give --lotl-signer (or SIGSVC_LOTL_SIGNERS): the LOTL is pinned")
    settings = trustlists.RefreshSettings(
        directory=directory,
        lotl_signers=tuple(Path(p).read_bytes() for p in signer_files),
        lotl_url=lotl_url or trustlists.EU_LOTL_URL,
        territories=territories or ("LV",),
        allow_loopback_http=os.environ.get("SIGSVC_TRUST_TEST_HTTP") == "1",
        ca_file=ca_file,
    )
    if now_text:
        require_test_now()
    now = datetime.fromisoformat(now_text) if now_text else datetime.now(UTC)
    try:
        versions = trustlists.refresh(settings, now=now)
    except trustlists.TrustRefreshError as exc:
        raise click.ClickException(str(exc)) from exc
    for version in versions:
        click.echo(json.dumps(asdict(version), sort_keys=True))
