"""Serve sigsvc with gunicorn for `make certify` (optionally terminating TLS itself).

python -m certification.certify.serve_local HOST:PORT WORKERS [--certfile F --keyfile F]
"""

from __future__ import annotations

import sys

from sigsvc.web.serve import run_gunicorn

if __name__ == "__main__":
    bind, workers, *rest = sys.argv[1:]
    tls = dict(zip(rest[0::2], rest[1::2], strict=True))
    run_gunicorn(bind, int(workers), certfile=tls.get("--certfile"), keyfile=tls.get("--keyfile"))
