"""Service request costs through the full Flask stack on a SQLite file (single thread)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from sigsvc import credentials, db, services
from sigsvc.app import create_app


def _rate(label: str, n: int, call: object) -> None:
    started = time.perf_counter()
    for i in range(n):
        call(i)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    print(f"   {label:<40} {n / elapsed:8.0f} req/s  {elapsed / n * 1000:6.2f} ms/req")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        db.upgrade(url)
        app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}, instance_path=tmp)
        with db.session_scope(app) as session:
            _, token = credentials.create_admin_token(session, services.log_service(app), "bench")
            admin = {"Authorization": f"Bearer {token}"}
        client = app.test_client()

        def register(i: int) -> None:
            body = {
                "regime": "art22_bill",
                "registration_number": f"B-{i}",
                "title": "Bench",
                "full_text": "x" * 20_000,
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
            }
            assert client.post("/v1/initiatives", json=body, headers=admin).status_code == 201

        _rate("POST /v1/initiatives (20 kB text)", 300, register)
        iid = client.get("/v1/public/initiatives").get_json()["initiatives"][0]["id"]
        query = urlencode(
            {
                "given_name": "Jānis",
                "surname": "Bērziņš",
                "personal_code": "010101-10000",
                "date": "2026-04-01",
            }
        )

        def form(_i: int) -> None:
            response = client.get(f"/v1/initiatives/{iid}/form?{query}", headers=admin)
            assert response.status_code == 200

        _rate("GET .../form (admin token)", 1000, form)
        _rate("GET /healthz", 2000, lambda _i: client.get("/healthz"))
        db.engine_of(app).dispose()


if __name__ == "__main__":
    main()
