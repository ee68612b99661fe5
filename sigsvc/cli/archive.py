"""`sigsvc batches timestamp-archive`: add an archive time stamp (XAdES-LTA) to stored batches."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from sigsvc.cli._common import echo_json, transaction
from sigsvc.cli.batches import command as batches_group
from sigsvc.db.models.batches import Batch
from sigsvc.export.archive import timestamp_batch_file
from sigsvc.export.evidence import ENV_TSA_URL, EvidenceError, Tsa


@batches_group.command("timestamp-archive")
@click.argument("batch_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="every stored (not purged) batch")
@click.option("--tsa-url", help=f"the TSA for the archive time stamps (default: {ENV_TSA_URL})")
@with_appcontext
def timestamp_archive(batch_ids: tuple[str, ...], every: bool, tsa_url: str | None) -> None:
    """Add an archive time stamp to the seal of each stored batch file (XAdES-BASELINE-LTA).

    Run it before the `renew_before` that `sigaudit verify-batch` reports (the newest TSA
    certificate's expiry), with a TSA whose certificate outlives it; the manifest and its
    logged digest do not change.
    """
    if bool(batch_ids) == every:
        raise click.UsageError("give BATCH_IDS or --all")
    url = tsa_url or current_app.config.get("BATCH_SEAL", {}).get(ENV_TSA_URL)
    if not url:
        raise click.UsageError(f"--tsa-url or {ENV_TSA_URL} is needed")
    with transaction() as session:
        query = sa.select(Batch.id, Batch.artefact_path).where(Batch.artefact_path.is_not(None))
        if not every:
            query = query.where(Batch.id.in_(batch_ids))
        rows = session.execute(query.order_by(Batch.sequence)).all()
    missing = set(batch_ids) - {row.id for row in rows}
    if missing:
        raise click.ClickException(f"no stored artefact for {', '.join(sorted(missing))}")
    done = []
    for row in rows:
        try:
            result = timestamp_batch_file(Path(row.artefact_path), Tsa(url))
        except EvidenceError as exc:
            raise click.ClickException(f"{row.id}: {exc}") from exc
        with transaction() as session:  # the stored size follows the file
            batch = session.get(Batch, row.id)
            if batch is not None:
                batch.artefact_bytes = result.size
        done.append({"batch": row.id, "archive_timestamps": result.archive_timestamps})
    echo_json(done)
