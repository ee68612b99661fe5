"""The log as C2SP tlog-tiles, so tile clients, monitors and witnesses can follow it:
`/checkpoint`, `/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]` (and `/checkpoints/<seq>`,
this log's signed history, which `sigaudit verify <url>` uses to follow key rotations).

Tiles are served up to the latest checkpoint's size. A full tile never changes, so it is
immutable for caches; a partial one is superseded by wider ones as the log grows.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from audit.export import TILE_HEIGHT, encode_bundle
from audit.merkle import Node
from audit.tiles import Tile, parse_tile_path
from sigsvc import db, services
from sigsvc.log.storage import SqlLogStorage
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("tiles", __name__)
IMMUTABLE = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"
LATEST = "no-cache"  # revalidate: the checkpoint moves on every cut


def _latest(storage: SqlLogStorage) -> tuple[int, bytes]:
    latest = storage.latest_checkpoint()
    if latest is None:
        raise ApiError("NOT_FOUND", "the log has no checkpoint yet")
    return latest


@endpoint(
    bp,
    "/checkpoint",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="text/plain; charset=utf-8",
    summary="tlog-tiles: the latest signed checkpoint (cut first when one is due).",
)
def checkpoint() -> Response:
    session = db.session()
    try:
        found = services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except services.IntakeConfigError:
        found = None  # serve what is stored; nothing new can be signed
    if found is not None and found.log.cut_if_due(session):
        session.commit()
    else:
        session.rollback()
    _, note = _latest(SqlLogStorage(session))
    return Response(
        note, content_type="text/plain; charset=utf-8", headers={"Cache-Control": LATEST}
    )


@endpoint(
    bp,
    "/checkpoints/<int:seq>",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="text/plain; charset=utf-8",
    summary="The log's `seq`-th signed checkpoint (0 = first); never changes.",
)
def history(seq: int) -> Response:
    found = SqlLogStorage(db.session()).checkpoints(seq)
    if not found:
        raise ApiError("NOT_FOUND", "no such checkpoint")
    return Response(
        found[0][1], content_type="text/plain; charset=utf-8", headers={"Cache-Control": IMMUTABLE}
    )


def _tile_bytes(storage: SqlLogStorage, tile: Tile) -> bytes:
    start = tile.first_node()
    if tile.level is None:
        return encode_bundle(storage.entries(start, start + tile.width))
    level = TILE_HEIGHT * tile.level
    return b"".join(storage.node_hashes([Node(level, start + i) for i in range(tile.width)]))


@endpoint(
    bp,
    "/tile/<path:tile_path>",
    methods=["GET"],
    auth="none",
    responses={200: None},
    media_type="application/octet-stream",
    summary="tlog-tiles: a hash tile `<L>/<N>[.p/<W>]` or an entry bundle `entries/<N>[.p/<W>]`.",
)
def tile(tile_path: str) -> Response:
    try:
        wanted = parse_tile_path(f"tile/{tile_path}")
    except ValueError as exc:
        raise ApiError("NOT_FOUND", "not a tlog-tiles path") from exc
    storage = SqlLogStorage(db.session())
    size, _ = _latest(storage)
    if not wanted.fits(size):
        raise ApiError("NOT_FOUND", "the tile is beyond the latest checkpoint")
    return Response(
        _tile_bytes(storage, wanted),
        content_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE if wanted.full else PARTIAL},
    )
