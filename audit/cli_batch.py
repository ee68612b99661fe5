"""``sigaudit verify-batch``: the CLI layer that wires ``audit.batch`` to ``crypto``.

``audit.batch`` stays free of XML signatures and of ``crypto``; this module injects the seal
check (``crypto.seal``) and, when trust is given, the re-verification of each signer's
container (``crypto.verify``, offline, as of the time the service accepted it). The reference
receiver (certification/receiver.py) uses the same two builders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.batch import (
    BatchEntry,
    BatchError,
    BatchReport,
    ContainerCheck,
    ContainerRejected,
    SealCheck,
    SealRejected,
    ZipBatchArchive,
    verify_batch,
)
from audit.events import format_time
from audit.note import Verifier
from audit.strict import b64encode


def seal_checker(
    anchors: Sequence[bytes],
    *,
    tsa_anchors: Sequence[bytes] = (),
    at: datetime | None = None,
) -> SealCheck:
    """The seal check: XAdES over manifest.json chaining to one of ``anchors`` (DER certs).

    Version 1 seals are XAdES-B-B (chain valid at their claimed SigningTime). Version 2 seals
    must be XAdES-BASELINE-LT or -LTA, judged at validation time ``at`` (default: now) with
    time stamps chaining to ``tsa_anchors`` (default: ``anchors``).
    """
    from crypto.seal import SealInvalid, verify_seal
    from crypto.seal_evidence import SealEvidenceExpired, verify_seal_lt

    def check(seal_xml: bytes, manifest: bytes, version: int) -> object:
        try:
            if version < 2:
                return verify_seal(seal_xml, "manifest.json", manifest, anchors)
            when = at or datetime.now(UTC)
            tsas = list(tsa_anchors) or list(anchors)
            return verify_seal_lt(seal_xml, "manifest.json", manifest, anchors, tsas, when)
        except SealEvidenceExpired as exc:
            raise SealRejected(exc.message, expired=True) from None
        except SealInvalid as exc:
            raise SealRejected(exc.message) from None

    return check


def container_checker(
    trusted_lists: Sequence[tuple[bytes, bytes]], anchors: Sequence[bytes], fetched_at: datetime
) -> ContainerCheck:
    """Re-verify each container offline with crypto.verify at its acceptance time."""
    import crypto
    from crypto.form import InitiativeFields, Regime

    trust = crypto.TrustStore(
        trusted_lists=[
            crypto.TrustedListSource(tl, (signer,), fetched_at) for tl, signer in trusted_lists
        ],
        test_anchors=list(anchors),
    )

    def check(initiative: dict[str, str], entry: BatchEntry, container: bytes) -> None:
        try:
            fields = InitiativeFields(
                regime=Regime(initiative["regime"]),
                registration_number=initiative["registration"],
                title=initiative["title"],
                text_sha256=initiative["text_sha256"],
            )
            at = datetime.fromisoformat(entry.accepted_at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ContainerRejected(f"{entry.signature}: {exc}") from None
        verdict = crypto.verify(
            container, policy=crypto.Policy(initiative=fields), trust=trust, fetcher=None, at=at
        )
        if not verdict.accepted:
            raise ContainerRejected(f"{entry.signature}: {verdict.reason} {verdict.message}")
        who = verdict.signer
        listed = (entry.given_name, entry.surname, entry.personal_code)
        if who is None or (who.given_name, who.surname, who.personal_code) != listed:
            raise ContainerRejected(f"{entry.signature}: the container names another person")

    return check


def _time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def report_json(report: BatchReport) -> dict[str, Any]:
    seal = report.seal
    from crypto.seal_evidence import LtSealInfo

    span = report.range
    evidence = None
    if isinstance(seal, LtSealInfo):
        evidence = {
            "level": seal.level,
            "sealed_before": format_time(seal.sealed_before),
            "timestamps": [format_time(t) for t in seal.timestamps],
            "renew_before": format_time(seal.renew_before),
            "validated_at": format_time(seal.validated_at),
        }
    return {
        "version": report.version,
        "batch": report.batch_id,
        "sequence": report.sequence,
        "initiative": report.initiative["id"],
        "count": report.count,
        "origin": report.checkpoint.origin,
        "checkpoint_size": report.checkpoint.size,
        "checkpoint_root": b64encode(report.checkpoint.root),
        "previous_size": report.previous.size if report.previous else None,
        "manifest_sha256": report.manifest_sha256,
        "seal": getattr(seal, "subject", None),
        "seal_evidence": evidence,
        "range": None
        if span is None
        else {
            "start": span.start,
            "end": span.end,
            "previous_batch": span.previous_export,
            "accepted": span.accepted,
            "withdrawn": span.withdrawn,
            "complete": True,
        },
        "containers_verified": report.containers_verified,
    }


def run(
    args: argparse.Namespace,
    keys: list[Verifier],
    read: Callable[[str], bytes],
    emit: Callable[[argparse.Namespace, bool, str, dict[str, Any]], int],
) -> int:
    """Body of ``sigaudit verify-batch`` (``read`` raises the CLI's usage error)."""
    if len(args.trusted_list) != len(args.tl_signer):
        print("sigaudit: give one --tl-signer per --trusted-list", file=sys.stderr)
        return 2
    at = None
    if args.at:
        at = _time(args.at)
        if at is None:
            print("sigaudit: --at is not ISO 8601 with a zone", file=sys.stderr)
            return 2
    tsas = [read(p) for p in args.tsa_anchor]
    # --seal-anchor is required (fail closed): argparse exits 2 naming it when missing.
    seal = seal_checker([read(p) for p in args.seal_anchor], tsa_anchors=tsas, at=at)
    containers = None
    if args.trusted_list or args.anchor:
        if args.anchor:
            print("sigaudit: --anchor is a TEST/DEMO trust anchor", file=sys.stderr)
        tls = [(read(t), read(s)) for t, s in zip(args.trusted_list, args.tl_signer, strict=True)]
        if args.trusted_list and not args.tl_fetched_at:
            print("sigaudit: --trusted-list needs --tl-fetched-at", file=sys.stderr)
            return 2
        at = _time(args.tl_fetched_at or "2000-01-01T00:00:00Z")
        if at is None:
            print("sigaudit: --tl-fetched-at is not ISO 8601 with a zone", file=sys.stderr)
            return 2
        containers = container_checker(tls, [read(a) for a in args.anchor], at)
    trusted = read(args.trusted_checkpoint) if args.trusted_checkpoint else None
    read(args.batch)  # usage error (exit 2) when unreadable
    try:
        with Path(args.batch).open("rb") as stream:
            report = verify_batch(
                ZipBatchArchive(stream),
                keys,
                seal_check=seal,
                trusted=trusted,
                container_check=containers,
            )
    except BatchError as exc:
        error = {"reason": str(exc.reason), "message": exc.message, "entry": exc.entry}
        error["name"] = exc.name
        human = f"[{exc.reason}] {exc.message}"
        if exc.entry is not None:
            human += f" (entry {exc.entry})"
        return emit(args, False, human, {"error": error})
    doc = report_json(report)
    human = (
        f"batch {doc['batch']} (#{doc['sequence']}) verified: {doc['count']} entries of "
        f"{doc['initiative']} in {doc['origin']} at size {doc['checkpoint_size']}"
    )
    if doc["previous_size"] is not None:
        human += f", consistent with size {doc['previous_size']}"
    if doc["range"] is not None:
        span = doc["range"]
        human += f"; complete for log range [{span['start']}, {span['end']})"
    if evidence := doc["seal_evidence"]:
        human += (
            f"; seal {evidence['level']}, sealed before {evidence['sealed_before']}, "
            f"evidence valid at {evidence['validated_at']} (renew before "
            f"{evidence['renew_before']})"
        )
    return emit(args, True, human, doc)


def add_parser(
    sub: Any,
    common: Callable[[argparse.ArgumentParser, bool], None],
    handler: Callable[[argparse.Namespace], int],
) -> None:
    b = sub.add_parser("verify-batch", help="verify a signed batch offline")
    b.add_argument("batch")
    b.add_argument("--trusted-checkpoint", metavar="FILE", help="the witness's last checkpoint")
    b.add_argument(
        "--seal-anchor",
        action="append",
        required=True,
        metavar="CERT",
        help="DER certificate the operator's seal must chain to; repeatable",
    )
    b.add_argument(
        "--tsa-anchor",
        action="append",
        default=[],
        metavar="CERT",
        help="certificate the seal's time stamps must chain to (default: the seal anchors)",
    )
    b.add_argument(
        "--at",
        metavar="TIME",
        help="validation time for the seal's long-term evidence (ISO 8601; default: now)",
    )
    b.add_argument(
        "--trusted-list",
        action="append",
        default=[],
        metavar="FILE",
        help="re-verify each container against this trusted list (with --tl-signer)",
    )
    b.add_argument("--tl-signer", action="append", default=[], metavar="CERT")
    b.add_argument(
        "--tl-fetched-at",
        metavar="TIME",
        help="when the trusted lists were fetched (ISO 8601); needed with them",
    )
    b.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="CERT",
        help="TEST/DEMO ONLY: re-verify containers trusting this CA directly",
    )
    common(b, True)
    b.set_defaults(run=handler)
