"""Public read API of the audit log (no personal data in it): checkpoint, proofs, entries,
and the full export that `sigaudit verify` checks offline."""

from __future__ import annotations

import re
import tempfile
from typing import Any

from flask import Blueprint, Response, request, send_file

from audit import merkle
from audit.errors import AuditError
from audit.export import write_export
from audit.strict import b64encode
from sigsvc import db
from sigsvc.log.storage import SqlLogStorage
from sigsvc.web.context import current_services
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("log", __name__)
MAX_ENTRIES = 1000
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")


def _param(name: str) -> int:
    values = request.args.getlist(name)
    if len(values) != 1 or not _DECIMAL.fullmatch(values[0]):
        raise ApiError("INVALID_PARAMETER", f"{name}: give one non-negative decimal integer")
    return int(values[0])


def _q(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 0},
    }


@endpoint(
    bp,
    "/v1/log/checkpoint",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="text/plain; charset=utf-8",
    errors=("NOT_FOUND", "INTAKE_NOT_CONFIGURED"),
    summary="The latest signed C2SP checkpoint (cut first if entries are uncovered and it is due).",
)
def checkpoint() -> Response:
    log = current_services().log
    session = db.session()
    if log.cut_if_due(session):
        session.commit()
    else:
        session.rollback()
    latest = log.latest_checkpoint(session)
    if latest is None:
        raise ApiError("NOT_FOUND", "the log has no checkpoint yet")
    return Response(latest, status=200, content_type="text/plain; charset=utf-8")


def _proof_json(**fields: Any) -> dict[str, Any]:
    proof = fields.pop("proof")
    return {**fields, "proof": [b64encode(h) for h in proof]}


@endpoint(
    bp,
    "/v1/log/proofs/inclusion",
    methods=["GET"],
    auth="none",
    responses={200: "log_proof"},
    query=[_q("index", "leaf index"), _q("size", "tree size (a checkpoint's size)")],
    errors=("INVALID_PARAMETER",),
    summary="RFC 6962/9162 inclusion proof of leaf `index` in the tree of `size` (base64).",
)
def inclusion() -> dict[str, Any]:
    index, size = _param("index"), _param("size")
    storage = SqlLogStorage(db.session())
    if not index < size <= storage.size():
        raise ApiError("INVALID_PARAMETER", "need index < size <= the log's size")
    proof = merkle.inclusion_proof(index, size, storage)
    return _proof_json(index=index, size=size, proof=proof)


@endpoint(
    bp,
    "/v1/log/proofs/consistency",
    methods=["GET"],
    auth="none",
    responses={200: "log_proof"},
    query=[_q("old", "older tree size"), _q("new", "newer tree size")],
    errors=("INVALID_PARAMETER",),
    summary="RFC 6962/9162 consistency proof between tree sizes `old` and `new` (base64).",
)
def consistency() -> dict[str, Any]:
    old, new = _param("old"), _param("new")
    storage = SqlLogStorage(db.session())
    if not 0 < old <= new <= storage.size():
        raise ApiError("INVALID_PARAMETER", "need 0 < old <= new <= the log's size")
    proof = merkle.consistency_proof(old, new, storage)
    return _proof_json(old_size=old, new_size=new, proof=proof)


@endpoint(
    bp,
    "/v1/log/entries",
    methods=["GET"],
    auth="none",
    responses={200: "log_entries"},
    query=[
        _q("start", "first index"),
        _q("end", f"index after the last (at most start+{MAX_ENTRIES})"),
    ],
    errors=("INVALID_PARAMETER",),
    summary="Leaf data (RFC 8785 JSON events, base64) of entries [start, end).",
)
def entries() -> dict[str, Any]:
    start, end = _param("start"), _param("end")
    storage = SqlLogStorage(db.session())
    if not start <= end <= storage.size() or end - start > MAX_ENTRIES:
        raise ApiError("INVALID_PARAMETER", f"need start <= end <= size, at most {MAX_ENTRIES}")
    return {"start": start, "entries": [b64encode(d) for d in storage.entries(start, end)]}


@endpoint(
    bp,
    "/v1/log/export",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="application/x-tar",
    errors=("NOT_FOUND",),
    summary="The whole log up to its latest checkpoint as a tar (docs: audit export format).",
)
def export() -> Response:
    storage = SqlLogStorage(db.session())
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    try:
        write_export(storage, spool)  # type: ignore[arg-type]
    except AuditError as exc:
        spool.close()
        raise ApiError("NOT_FOUND", "the log has no checkpoint to export yet") from exc
    spool.seek(0)
    return send_file(spool, mimetype="application/x-tar", download_name="sigsvc-log.tar")
