"""`sigsvc-certify`: `env` prints what a deployment under test needs; `run` certifies it.

Exit codes: 0 every selected check PASS or SKIP; 1 a check FAILed or ERRORed (the report says
which); 2 bad input to the runner (URL, token, kit, a target not configured for the test PKI):
nothing is written to --out.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from audit.note import Verifier
from certification.certify import SUITE_VERSION, report
from certification.certify.checks import ALL, select
from certification.certify.citizens import Mint, serve_citizen_ocsp
from certification.certify.kit import (
    RECEIVER_NAME,
    RESPONDERS_NOTE,
    TL_SIGNER,
    TRUSTED_LIST,
    KitError,
    ensure_kit,
    load_kit,
)
from certification.certify.model import Context, Result, Skip, Verdict
from certification.certify.options import Options
from certification.certify.target import RunnerInputError, Target
from certification.certify.world import World
from certification.receiver import ReceiverConfig, serve_receiver
from certification.testpki import serve_responders


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_check(world: World, spec: Any) -> Result:
    ctx = Context(spec)
    started = datetime.now(UTC)
    verdict, reason = Verdict.PASS, ""
    try:
        spec.run(ctx, world)
        if ctx.failed:
            verdict = Verdict.FAIL
            reason = next(o.text for o in ctx.observations if o.ok is False)
    except Skip as exc:
        verdict, reason = Verdict.SKIP, str(exc)
    except Exception as exc:  # the suite could not finish: never a PASS
        verdict, reason = Verdict.ERROR, f"{type(exc).__name__}: {exc}"
        if ctx.failed:
            verdict = Verdict.FAIL
            reason = next(o.text for o in ctx.observations if o.ok is False)
            ctx.note(f"then the check stopped: {type(exc).__name__}: {exc}")
    return Result(
        spec,
        verdict,
        reason,
        tuple(ctx.inputs),
        tuple(ctx.observations),
        _iso(started),
        int((time.monotonic() - ctx.started) * 1000),
    )


def _readyz(target: Target) -> dict[str, Any]:
    try:
        answer = target.request("GET", "/readyz", timeout=15)
    except requests.exceptions.SSLError as exc:
        raise RunnerInputError(
            f"--target {target.base}: TLS handshake failed ({exc}); give the CA with --ca-file"
        ) from exc
    except requests.RequestException as exc:
        raise RunnerInputError(
            f"--target {target.base}: cannot reach it ({type(exc).__name__}); check the URL "
            "and that the deployment is running"
        ) from exc
    doc = answer.json
    if answer.status != 200 or not isinstance(doc, dict) or doc.get("status") != "ready":
        raise RunnerInputError(
            f"--target {target.base}: GET /readyz answered {answer.status} "
            f"{answer.body[:200]!r}; is this a sigsvc deployment, migrated and ready?"
        )
    intake = doc.get("intake") or {}
    if not intake.get("configured"):
        raise RunnerInputError(
            f"the target's signature intake is not configured ({intake.get('error')}); "
            "start it with the environment `sigsvc-certify env --kit DIR` prints"
        )
    return doc


def _check_admin(target: Target) -> None:
    answer = target.admin("GET", "/v1/initiatives", timeout=15)
    if answer.status in (401, 403):
        raise RunnerInputError(
            f"--admin-token: the target refused it ({answer.brief()}); give an admin token "
            "of this deployment (SIGSVC_ADMIN_TOKEN or `sigsvc tokens create-admin`)"
        )
    if answer.status != 200:
        raise RunnerInputError(f"GET /v1/initiatives with the admin token: {answer.brief()}")


def _check_test_pki(world: World, env_hint: str) -> None:
    """One valid TEST signature must be accepted, exported, received and acknowledged:
    otherwise the target does not trust the test PKI or lacks the kit's seal/receiver key."""
    from certification.certify.checks.batches import export_and_receive

    spec = ALL[0]
    ctx = Context(spec)
    initiative = world.initiative(ctx)
    answer = world.post(ctx, initiative, world.signed(initiative, world.citizen()), "probe")
    if answer.status != 201:
        raise RunnerInputError(
            "the target does not accept a valid TEST-PKI signature "
            f"({answer.brief()} {answer.message}): configure it with the test trusted list:\n"
            + env_hint
        )
    flow = export_and_receive(ctx, world, initiative)
    if flow.problem:
        raise RunnerInputError(f"{flow.problem}; configure the target with:\n{env_hint}")


def _trust_digests() -> dict[str, str]:
    return {
        str(path.relative_to(path.parents[2])): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (TRUSTED_LIST, TL_SIGNER)
    }


def command_run(args: argparse.Namespace) -> int:
    if not args.target.startswith(("http://", "https://")):
        raise RunnerInputError(f"--target {args.target!r}: give an http:// or https:// URL")
    selected = select(args.only)
    kit = load_kit(Path(args.kit))
    options = Options(
        database_url=args.database_url,
        retention_command=args.retention_command,
        ca_file=args.ca_file,
        env_file=args.env_file,
        app_log=args.app_log,
    )
    target = Target(args.target, args.admin_token, verify_tls=args.ca_file or True)
    readyz = _readyz(target)
    _check_admin(target)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the receiver's request lines
    started = datetime.now(UTC)
    t0 = time.monotonic()
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    results: list[Result] = []
    with ExitStack() as stack:
        stack.enter_context(serve_responders())
        ocsp = stack.enter_context(serve_citizen_ocsp())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certify-")))
        receiver = stack.enter_context(
            serve_receiver(
                ReceiverConfig(
                    name=RECEIVER_NAME,
                    signer=kit.receiver_signer(),
                    log_keys=[Verifier.from_vkey(readyz["intake"]["log_key"])],
                    seal_anchors=[kit.seal_anchor.read_bytes()],
                    db_path=workdir / "receiver.sqlite",
                )
            )
        )
        world = World(target, kit, Mint(ocsp.url), ocsp, run_id, workdir, readyz, options, receiver)
        _check_test_pki(world, kit.shell())
        for spec in selected:
            print(f"{spec.id:>4} {spec.title} ...", end=" ", flush=True)
            result = run_check(world, spec)
            print(f"{result.verdict.value} ({result.duration_ms} ms) {result.reason}", flush=True)
            results.append(result)
    meta = {
        "suite_version": SUITE_VERSION,
        "run_id": run_id,
        "started_at": _iso(started),
        "duration_ms": int((time.monotonic() - t0) * 1000),
        "target": {
            "url": target.base,
            "version": readyz.get("version"),
            "schema_revision": readyz.get("schema_revision"),
            "log_origin": readyz["intake"].get("log_origin"),
            "log_key": readyz["intake"].get("log_key"),
            "test_anchors": readyz["intake"].get("test_anchors"),
            "test_clock": readyz["intake"].get("test_clock"),
        },
        "trust": _trust_digests(),
        "options": {
            "only": [s.id for s in selected],
            "database_url": bool(options.database_url),
            "retention_command": options.retention_command,
            "tls_ca_file": bool(options.ca_file),
        },
    }
    doc = report.document(meta, results)
    written = report.write(Path(args.out), doc)
    print()
    print(report.summary_table(results))
    print(f"\nsummary: {doc['summary']}; report: {', '.join(str(p) for p in written)}")
    return 0 if all(r.verdict in (Verdict.PASS, Verdict.SKIP) for r in results) else 1


def command_env(args: argparse.Namespace) -> int:
    kit = ensure_kit(Path(args.kit))
    sys.stdout.write(
        "# Environment of a sigsvc deployment under certification (TEST PKI: never production)\n"
        + RESPONDERS_NOTE
        + kit.shell()
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sigsvc-certify", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("env", help="make the certification kit and print the deployment's env")
    e.add_argument("--kit", default="certify-kit", help="kit directory (made when missing)")
    e.set_defaults(func=command_env)
    r = sub.add_parser("run", help="run the checks against a deployment and write the report")
    r.add_argument("--target", required=True, help="base URL, e.g. https://sigsvc.test:8443")
    r.add_argument("--admin-token", required=True, help="an admin token of the target")
    r.add_argument("--kit", default="certify-kit", help="the kit `env` made (seal, CVK key)")
    r.add_argument("--pki", default=None, help="test PKI directory (only the built-in one)")
    r.add_argument("--database-url", help="C16/C25: SQLAlchemy URL of the target's database")
    r.add_argument(
        "--retention-command",
        help="C26: shell command that runs the target's retention purge, e.g. "
        "'sigsvc retention purge' in the deployment's environment",
    )
    r.add_argument("--ca-file", help="C24: CA bundle for an https:// target's certificate")
    r.add_argument("--env-file", help="environment file for --retention-command")
    r.add_argument("--app-log", help="C18/C27: the target's application log file to search")
    r.add_argument("--out", default="certify-report", help="report directory")
    r.add_argument("--only", help="comma-separated check ids, e.g. C5,C7")
    r.set_defaults(func=command_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "pki", None) and Path(args.pki).resolve() != TRUSTED_LIST.parents[1]:
            raise RunnerInputError(
                f"--pki {args.pki}: only the built-in test PKI "
                f"({TRUSTED_LIST.parents[1]}) is supported"
            )
        code: int = args.func(args)
        return code
    except (RunnerInputError, KitError) as exc:
        print(f"sigsvc-certify: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
