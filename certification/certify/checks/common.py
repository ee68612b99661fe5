"""Helpers shared by checks: reading the public log, waiting for a checkpoint."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from certification.certify.model import Context
from certification.certify.world import Initiative, World

MAX_PAGE = 1000


def checkpoint_size(world: World) -> int:
    answer = world.target.request("GET", "/v1/log/checkpoint")
    if answer.status != 200:
        return 0
    lines = answer.body.decode("utf-8", "replace").split("\n")
    return int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0


def wait_checkpoint(world: World, size: int, timeout: float = 20.0) -> int:
    """Wait until a checkpoint covers ``size`` entries; return the covered size."""
    deadline = time.monotonic() + timeout
    covered = checkpoint_size(world)
    while covered < size and time.monotonic() < deadline:
        time.sleep(0.3)
        covered = checkpoint_size(world)
    return covered


def fence(ctx: Context, world: World, initiative: Initiative) -> int:
    """A valid signature by a fresh citizen; returns the log size once a checkpoint covers
    it, so every event before it can be read."""
    answer = world.post(ctx, initiative, world.signed(initiative, world.citizen()), "fence")
    if answer.status != 201:
        raise RuntimeError(f"fence signature: {answer.brief()} {answer.message}")
    leaf = int(answer.json["leaf_index"])
    covered = wait_checkpoint(world, leaf + 1)
    if covered <= leaf:
        raise RuntimeError(f"no checkpoint covered leaf {leaf} within 20 s")
    return covered


def events(world: World, start: int, end: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while start < end:
        stop = min(end, start + MAX_PAGE)
        answer = world.target.request(
            "GET", "/v1/log/entries", params={"start": start, "end": stop}
        )
        if answer.status != 200:
            raise RuntimeError(f"GET /v1/log/entries: {answer.brief()}")
        out += [json.loads(base64.b64decode(e)) for e in answer.json["entries"]]
        start = stop
    return out


def events_of(world: World, initiative: Initiative, end: int) -> list[dict[str, Any]]:
    return [e for e in events(world, 0, end) if e.get("initiative") == initiative.id]


def count_types(evs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in evs:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    return counts
