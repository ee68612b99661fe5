"""``sigaudit``: the offline auditor's command line (no database; no network unless a log is
given as a tlog-tiles URL).

Exit codes: 0 verified; 1 verification failed (tampered, forked, truncated, bad signature or
proof); 2 usage error or unreadable input (missing file, malformed key).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit import cli_batch, events, merkle, sources
from audit.checkpoint import Checkpoint
from audit.errors import AuditError, ExportError, NoteError, ReceiptError
from audit.note import Verifier, open_note, parse
from audit.receipt import verify_receipt
from audit.strict import b64decode, b64encode
from audit.verify import PROGRESS_EVERY, verify_export

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2."""


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _keys(values: Sequence[str] | None) -> list[Verifier]:
    keys = []
    for value in values or []:
        text = _read(value).decode("utf-8", "replace").strip() if Path(value).is_file() else value
        try:
            keys.append(Verifier.from_vkey(text))
        except NoteError as exc:
            raise UsageError(f"bad verifier key {value!r}: {exc}") from None
    return keys


def _emit(args: argparse.Namespace, ok: bool, human: str, doc: dict[str, Any]) -> int:
    if args.json:
        print(json.dumps({"ok": ok, "command": args.command, **doc}, sort_keys=True))
    else:
        print(("OK    " if ok else "FAIL  ") + human)
    return EXIT_OK if ok else EXIT_FAILED


def _failure(args: argparse.Namespace, exc: AuditError) -> int:
    error: dict[str, Any] = {"kind": getattr(exc, "kind", type(exc).__name__), "message": str(exc)}
    lines = [f"[{error['kind']}] {exc}"]
    if isinstance(exc, ExportError):
        error["index"], error["range"] = exc.index, exc.bad_range
        if exc.index is not None:
            lines.append(f"      first bad index: {exc.index}")
        elif exc.bad_range is not None:
            lines.append(f"      first bad index within [{exc.bad_range[0]}, {exc.bad_range[1]})")
    return _emit(args, False, "\n".join(lines), {"error": error})


def _progress(done: int, total: int) -> None:
    if total >= PROGRESS_EVERY:
        print(f"sigaudit: {done}/{total} entries ({100 * done // total}%)", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    keys = _keys(args.key)
    trusted = _read(args.trusted_checkpoint) if args.trusted_checkpoint else None
    quiet = args.quiet or not sys.stderr.isatty()  # progress on a terminal only
    try:
        with sources.open_log(args.export) as stream:
            report = verify_export(stream, keys, trusted, None if quiet else _progress)
    except (OSError, EOFError, sources.SourceError) as exc:
        raise UsageError(f"cannot read {args.export}: {exc}") from None
    except AuditError as exc:
        return _failure(args, exc)
    human = (
        f"export verified: origin {report.origin}, {report.size} entries, "
        f"{report.checkpoints} checkpoints, {report.key_rotations} key rotation(s), "
        f"root {b64encode(report.root)}"
    )
    if report.trusted_size is not None:
        human += f"; extends the trusted checkpoint of size {report.trusted_size}"
    doc = {
        "origin": report.origin,
        "size": report.size,
        "root": b64encode(report.root),
        "checkpoints": report.checkpoints,
        "key_rotations": report.key_rotations,
        "trusted_size": report.trusted_size,
        "final_keys": list(report.final_keys),
    }
    return _emit(args, True, human, doc)


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    keys = _keys(args.key)
    leaf = _read(args.leaf) if args.leaf else None
    try:
        ok = verify_receipt(_read(args.receipt), keys, args.origin, leaf)
    except ReceiptError as exc:
        return _failure(args, exc)
    cp = ok.checkpoint.checkpoint
    doc = {
        "index": ok.receipt.index,
        "origin": cp.origin,
        "size": cp.size,
        "root": b64encode(cp.root),
        "leaf": ok.leaf_data.decode("utf-8", "replace"),
    }
    human = f"entry {ok.receipt.index} is in {cp.origin} at size {cp.size}: {doc['leaf']}"
    return _emit(args, True, human, doc)


def _checkpoint_file(path: str, keys: list[Verifier]) -> Checkpoint:
    note = _read(path)
    try:
        if keys:
            return Checkpoint.from_text(open_note(note, keys)[0].text)
        return Checkpoint.from_text(parse(note).text)
    except AuditError as exc:
        raise ExportError(f"{path}: {exc}", kind="checkpoint") from None


def _is_export(path: str) -> bool:
    """Exports are tars whose first member is named 'checkpoint'; notes start with an origin."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return len(head) == 512 and head[:11] == b"checkpoint\0"


def cmd_consistency(args: argparse.Namespace) -> int:
    keys = _keys(args.key)  # required: unsigned checkpoints prove nothing (fail closed)
    try:
        old = _checkpoint_file(args.old, keys)
        if _is_export(args.new):
            with open(args.new, "rb") as stream:
                report = verify_export(stream, keys, _read(args.old))
            new_size, new_root = report.size, report.root
        else:
            new = _checkpoint_file(args.new, keys)
            if old.origin != new.origin:
                raise ExportError("checkpoints are from different logs", kind="checkpoint")
            proof_lines = _read(args.proof).decode().split() if args.proof else []
            try:
                proof = [b64decode(line) for line in proof_lines]
            except ValueError:
                raise UsageError("proof file must hold one base64 hash per line") from None
            merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
            new_size, new_root = new.size, new.root
    except AuditError as exc:
        return _failure(args, exc)
    doc = {
        "old_size": old.size,
        "new_size": new_size,
        "new_root": b64encode(new_root),
        "signatures_checked": bool(keys),
    }
    return _emit(args, True, f"size {new_size} is consistent with size {old.size}", doc)


def cmd_verify_batch(args: argparse.Namespace) -> int:
    return cli_batch.run(args, _keys(args.key), _read, _emit)


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(events.json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sigaudit", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, key_required: bool) -> None:
        sp.add_argument(
            "--key",
            action="append",
            required=key_required,
            metavar="VKEY",
            help="trusted log key (signed-note vkey, or a file holding it); repeatable",
        )
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    v = sub.add_parser("verify", help="verify a whole log: an export, its tiles, or a tiles URL")
    v.add_argument(
        "export",
        help="export tar (gzipped or not; '-' reads stdin), a directory with the tlog-tiles "
        "layout, or a tlog-tiles base URL (http(s)://host/prefix)",
    )
    v.add_argument("--trusted-checkpoint", metavar="FILE", help="a checkpoint you already trust")
    v.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common(v, True)
    v.set_defaults(run=cmd_verify)

    r = sub.add_parser("verify-receipt", help="verify a C2SP tlog-proof receipt")
    r.add_argument("receipt")
    r.add_argument("--origin", help="expected log origin")
    r.add_argument("--leaf", metavar="FILE", help="leaf data, if not in the receipt's extra line")
    common(r, True)
    r.set_defaults(run=cmd_verify_receipt)

    c = sub.add_parser("consistency", help="check that NEW extends OLD")
    c.add_argument("old", help="older checkpoint note")
    c.add_argument("new", help="newer checkpoint note (with --proof) or an export")
    c.add_argument("--proof", metavar="FILE", help="consistency proof, base64 hash per line")
    common(c, True)
    c.set_defaults(run=cmd_consistency)

    cli_batch.add_parser(sub, common, cmd_verify_batch)

    s = sub.add_parser("schema", help="print the JSON Schema of a log leaf")
    s.set_defaults(run=cmd_schema, json=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # A missing trust input (--key, --seal-anchor) is a usage error: argparse names the flag on
    # stderr and exits 2, so no auditor sees "OK" for something that was not checked.
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as exc:
        print(f"sigaudit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
