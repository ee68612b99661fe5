"""Public pages at the scale of an Art. 22 initiative: 155,000 signatures over a year on a
SQLite file, each page rendered through the full Flask stack (single thread), first with the
pages' short cache off (the cost of a miss), then one page through it."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Flask

from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.app import create_app

SIGNATURES = 155_000


def _seed(app: Flask, initiative: uuid.UUID, platform: uuid.UUID) -> None:
    """Rows straight through the driver (the ORM's per-row work would dominate the bench)."""
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    columns = (
        "id, initiative_id, platform_id, dedup_key, status, eligibility, container_sha256, "
        "signing_time, given_name_enc, surname_enc, personal_code_enc, container_format, "
        "leaf_index, created_at"
    )
    rows = []
    for n in range(SIGNATURES):
        at = (start + timedelta(seconds=n * 200)).strftime("%Y-%m-%d %H:%M:%S.%f")  # ~430 a day
        ids = (uuid.uuid4().hex, initiative.hex, platform.hex, n.to_bytes(32, "big"))
        rows.append((*ids, "accepted", "for_cvk", "0" * 64, at, b"x", b"x", b"x", "asice", n, at))
    marks = ", ".join("?" * 14)
    with db.engine_of(app).begin() as connection:
        insert = f"INSERT INTO signatures ({columns}) VALUES ({marks})"  # noqa: S608 (constants)
        connection.exec_driver_sql(insert, rows)


def _time(label: str, n: int, call: object) -> None:
    call()  # type: ignore[operator]  # warm
    started = time.perf_counter()
    for _ in range(n):
        call()  # type: ignore[operator]
    elapsed = (time.perf_counter() - started) / n
    print(f"   {label:<48} {elapsed * 1000:8.1f} ms/page")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        db.upgrade(url)
        app = create_app(
            {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "PAGES_CACHE_SECONDS": 0},
            instance_path=tmp,
        )
        with db.session_scope(app) as session:
            made = registry.register_initiative(
                session,
                services.log_service(app),
                registry.NewInitiative(
                    Regime.ART22_BILL, "B-1", "Bench", "x\n", date(2026, 1, 1), date(2026, 12, 31)
                ),
            )
            platform, _ = credentials.create_platform(
                session, services.log_service(app), "bench", [made.id]
            )
            iid, pid = made.id, platform.id
        started = time.perf_counter()
        _seed(app, iid, pid)
        print(f"   seeded {SIGNATURES} signatures in {time.perf_counter() - started:.1f} s")
        client = app.test_client()
        for label, path in (
            ("GET / (list with counts)", "/"),
            ("GET /initiatives/<id> (counts, 365-day SVG)", f"/initiatives/{iid}"),
            ("GET /data/initiatives/<id>.json (per day)", f"/data/initiatives/{iid}.json"),
            ("GET /log", "/log"),
            ("GET /receipt", "/receipt"),
        ):
            _time(label, 5, lambda path=path: client.get(path))
        app.config["PAGES_CACHE_SECONDS"] = 10
        _time(
            "GET /initiatives/<id> again within 10 s (cached)",
            20,
            lambda: client.get(f"/initiatives/{iid}"),
        )
        body = client.get(f"/initiatives/{iid}").get_data()
        print(f"   initiative page size: {len(body) / 1024:.0f} KiB")
        db.engine_of(app).dispose()


if __name__ == "__main__":
    main()
