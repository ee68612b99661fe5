"""Serve the app with gunicorn in the foreground (SIGINT/SIGTERM stop it cleanly).

Each worker builds its own app (no preload), so no database connection crosses a fork.
Gunicorn's own log lines are routed to the JSON logging that create_app configured.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger


class JsonGunicornLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True  # to the root handler: JSON, request id, redaction
        self.error_log.setLevel(logging.INFO)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # e.g. control_socket_disable exists from gunicorn 24
                self.cfg.set(key, value)

    def load(self) -> Any:
        from sigsvc import housekeeping
        from sigsvc.app import create_app

        app = create_app()
        housekeeping.start(app)  # in each worker: no thread crosses a fork
        return app


DEFAULT_THREADS = 8  # per worker; docs/adr/intake.md "Workers and threads" for the measurement


def run_gunicorn(
    bind: str,
    workers: int,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    threads: int | None = None,
) -> None:
    """Serve in the foreground; with ``certfile``/``keyfile`` gunicorn terminates TLS itself
    (Python's default server context: TLS 1.2 or newer)."""
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile and keyfile else {}
    # Each worker enforces its share of the platform rate limit (sigsvc.intake.config).
    os.environ["SIGSVC_WORKERS"] = str(workers)
    threads = threads or int(os.environ.get("SIGSVC_THREADS") or DEFAULT_THREADS)
    _Server(
        {
            **tls,
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "accesslog": None,  # our own request line names the route, never the query string
            "logger_class": JsonGunicornLogger,
            "timeout": 60,
            "graceful_timeout": 5,
            "proc_name": "sigsvc",
            "control_socket_disable": True,  # no runtime-management socket in $HOME
        }
    ).run()
