"""`sigsvc verify`: verify one container offline or with live revocation, print JSON.

Exit 0 accept, 1 reject, 2 usage error. `--anchor` trusts a test/demo CA directly and says so.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

# crypto (pyHanko, cryptography, lxml) and the HTTP fetcher are imported in the command body:
# `sigsvc verify --help` must not pay for them (issue 10: <= 0.5 s).


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"not ISO 8601: {value}", param_hint="--at") from exc
    if moment.utcoffset() is None:
        raise click.BadParameter("give a time zone (e.g. Z)", param_hint="--at")
    return moment


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trusted-list",
    "trusted_lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="ETSI TS 119 612 trusted list XML (pair each with --tl-signer).",
)
@click.option(
    "--tl-signer",
    "tl_signers",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pinned scheme-operator certificate (PEM/DER) for the matching --trusted-list.",
)
@click.option(
    "--tl-fetched-at",
    default=None,
    help="When the trusted lists were fetched (ISO 8601); default: --at.",
)
@click.option(
    "--trust-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Lists kept by `sigsvc trust refresh`: judged by the versions in force at the "
    "signature's time stamp (give the pinned LOTL signers with --lotl-signer).",
)
@click.option(
    "--lotl-signer",
    "lotl_signers",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pinned LOTL signing certificate (PEM/DER) for --trust-dir; repeatable.",
)
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TEST/DEMO ONLY: trust this CA certificate directly.",
)
@click.option("--at", "at_text", default=None, help="Validation time, ISO 8601 (default: now).")
@click.option(
    "--expect-form",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The exact signature form the data file must equal.",
)
@click.option("--offline", is_flag=True, help="Never fetch OCSP/CRL; use embedded data only.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def command(
    file: Path,
    trusted_lists: tuple[Path, ...],
    tl_signers: tuple[Path, ...],
    tl_fetched_at: str | None,
    trust_dir: Path | None,
    lotl_signers: tuple[Path, ...],
    anchors: tuple[Path, ...],
    at_text: str | None,
    expect_form: Path | None,
    offline: bool,
    as_json: bool,
) -> None:
    """Verify FILE (.edoc/.asice/.pdf) as a qualified e-signature and print the verdict."""
    import crypto
    from crypto import Policy, TrustedListSource, TrustStore
    from sigsvc.intake import trustlists
    from sigsvc.intake.fetchers import crypto_fetcher

    at = _parse_at(at_text)
    if len(trusted_lists) != len(tl_signers):
        raise click.UsageError("give one --tl-signer for each --trusted-list")
    if not trusted_lists and not anchors and trust_dir is None:
        raise click.UsageError(
            "give at least one --trusted-list/--tl-signer pair, --trust-dir or --anchor"
        )
    if trust_dir is not None and (trusted_lists or not lotl_signers):
        raise click.UsageError("--trust-dir takes --lotl-signer, not --trusted-list")
    fetched_at = _parse_at(tl_fetched_at) if tl_fetched_at else at
    watch = None
    try:
        if trust_dir is not None:
            watch = trustlists.TrustWatch(
                trust_dir, [p.read_bytes() for p in lotl_signers], [a.read_bytes() for a in anchors]
            )
            trust = watch.load()
        else:
            trust = TrustStore(
                trusted_lists=[
                    TrustedListSource(tl.read_bytes(), (signer.read_bytes(),), fetched_at)
                    for tl, signer in zip(trusted_lists, tl_signers, strict=True)
                ],
                test_anchors=[a.read_bytes() for a in anchors],
            )
    except crypto.VerificationError as exc:
        raise click.UsageError(f"trust configuration rejected: {exc.message}") from exc
    except trustlists.TrustRefreshError as exc:
        raise click.UsageError(f"--trust-dir: {exc}") from exc
    policy = Policy(expected_form=expect_form.read_bytes() if expect_form else None)
    verdict = trustlists.verify_in_force(
        file.read_bytes(),
        policy=policy,
        current=trust,
        watch=watch,
        fetcher=None if offline else crypto_fetcher(),
        at=at,
    )
    out = verdict.to_json()
    out["warnings"] = [*out["warnings"], *trust.parse_warnings]  # the lists' own, as lines
    if anchors:
        out["trust_note"] = "test/demo anchor given with --anchor: NOT a trusted-list verification"
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"{out['verdict']}: {out['reason'] or 'TOTAL_PASSED'} {verdict.message}".rstrip()
        )
        if anchors:
            click.echo(out["trust_note"], err=True)
    sys.exit(0 if verdict.accepted else 1)
