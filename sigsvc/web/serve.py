"""Serve the app with gunicorn in the foreground (SIGINT/SIGTERM stop it cleanly).

Each worker builds its own app (no preload), so no database connection crosses a fork.
Gunicorn's own log lines are routed to the JSON logging that create_app configured.
Workers, threads and timeouts come from the environment (`ServeSettings.from_env`).

Workers are uvicorn event loops that read each request whole before the Flask app runs on a
pool of SIGSVC_THREADS threads (sigsvc.web.buffering): a slow client (slowloris) costs a
coroutine and a socket, never a thread. docs/adr/0009-hostile-input-and-faults.md.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from uvicorn_worker import UvicornWorker

from sigsvc.config import ConfigError

# The longest outbound fetching a request can wait for (sigsvc.intake.fetchers.FetchLimits
# .total_timeout is 5 s per URL; a verification may try two in a row); a worker stopping
# gracefully must outlive it, with margin.
LONGEST_FETCH_SECONDS = 10


@dataclass(frozen=True)
class ServeSettings:
    bind: str = "127.0.0.1:8080"
    workers: int = 2  # one per core; verification is CPU-bound (docs/deployment.md, sizing)
    threads: int = 8  # per worker; docs/adr/intake.md "Workers and threads" for the measurement
    timeout: int = 60  # a worker silent this long is killed and replaced
    graceful_timeout: int = 30  # in-flight requests finish on SIGTERM (> LONGEST_FETCH_SECONDS)
    keepalive: int = 5
    body_timeout: int = 30  # a request body not complete by then is answered 408 (slowloris)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ServeSettings:
        default = cls()
        settings = cls(
            bind=env.get("SIGSVC_BIND", default.bind),
            workers=_positive(env, "SIGSVC_WORKERS", default.workers),
            threads=_positive(env, "SIGSVC_THREADS", default.threads),
            timeout=_positive(env, "SIGSVC_TIMEOUT", default.timeout),
            graceful_timeout=_positive(env, "SIGSVC_GRACEFUL_TIMEOUT", default.graceful_timeout),
            keepalive=_positive(env, "SIGSVC_KEEPALIVE", default.keepalive),
            body_timeout=_positive(env, "SIGSVC_REQUEST_BODY_TIMEOUT", default.body_timeout),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if ":" not in self.bind and not self.bind.startswith("unix:"):
            raise ConfigError(f"SIGSVC_BIND: {self.bind!r} is not HOST:PORT or unix:PATH")
        if self.graceful_timeout <= LONGEST_FETCH_SECONDS:
            raise ConfigError(
                f"SIGSVC_GRACEFUL_TIMEOUT: {self.graceful_timeout} s would cut off a request "
                f"waiting on a fetch (up to {LONGEST_FETCH_SECONDS} s); give more"
            )
        if self.timeout <= LONGEST_FETCH_SECONDS:
            raise ConfigError(f"SIGSVC_TIMEOUT: must exceed {LONGEST_FETCH_SECONDS} s")

    def override(self, **values: Any) -> ServeSettings:
        chosen = replace(self, **{k: v for k, v in values.items() if v is not None})
        chosen.check()
        return chosen


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name}: {raw!r} is not a positive integer")
    return int(raw)


class JsonGunicornLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True  # to the root handler: JSON, request id, redaction
        self.error_log.setLevel(logging.INFO)


class BufferingWorker(UvicornWorker):  # type: ignore[misc]
    """uvicorn on asyncio + h11 (headers parsed on the loop, bounded in size), no access log."""

    CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 (the base class's spelling)
        "loop": "asyncio",
        "http": "h11",
        "lifespan": "off",
        "access_log": False,  # our own request line names the route, never the query string
        "proxy_headers": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        error_log = logging.getLogger("uvicorn.error")
        error_log.handlers.clear()
        error_log.propagate = True  # JSON, request id, redaction

    async def _serve(self) -> None:
        # The master stops workers with SIGQUIT on Ctrl-C (SIGINT); uvicorn_worker's handler
        # only marks the gunicorn worker dead, which uvicorn never reads, so the worker went on
        # serving until the graceful timeout killed it. Here SIGQUIT stops the server itself.
        import asyncio
        import signal
        import sys

        from gunicorn.arbiter import Arbiter
        from uvicorn.server import Server

        self.config.app = self.wsgi
        server = Server(config=self.config)

        def stop() -> None:
            self.alive = False
            server.should_exit = True

        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, stop)
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], settings: ServeSettings) -> None:
        self.options = options
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # e.g. control_socket_disable exists from gunicorn 24
                self.cfg.set(key, value)

    def load(self) -> Any:
        from sigsvc import housekeeping
        from sigsvc.app import create_app
        from sigsvc.web import buffering

        app = create_app()
        housekeeping.start(app)  # in each worker: no thread crosses a fork
        return buffering.asgi(
            app, threads=self.settings.threads, body_timeout=self.settings.body_timeout
        )


def prepare_metrics_dir() -> None:
    """prometheus_client multiprocess mode: one directory of per-process files shared by the
    workers, set before any of them starts (README: PROMETHEUS_MULTIPROC_DIR)."""
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not chosen:
        chosen = tempfile.mkdtemp(prefix="sigsvc-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = chosen
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # counters restart with the service, as Prometheus expects
        stale.unlink()


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def gunicorn_options(settings: ServeSettings) -> dict[str, Any]:
    return {
        "bind": settings.bind,
        "workers": settings.workers,
        "worker_class": "sigsvc.web.serve.BufferingWorker",
        "accesslog": None,  # our own request line names the route, never the query string
        "logger_class": JsonGunicornLogger,
        "timeout": settings.timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": settings.keepalive,
        "proc_name": "sigsvc",
        "control_socket_disable": True,  # no runtime-management socket in $HOME
        "child_exit": _child_exit,
    }


def run_gunicorn(
    bind: str,
    workers: int,
    settings: ServeSettings | None = None,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    threads: int | None = None,
) -> None:
    """Serve in the foreground; with ``certfile``/``keyfile`` gunicorn terminates TLS itself
    (Python's default server context: TLS 1.2 or newer)."""
    base = settings or ServeSettings.from_env()
    chosen = base.override(bind=bind, workers=workers, threads=threads)
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile and keyfile else {}
    run(chosen, tls)


def run(settings: ServeSettings, tls: dict[str, str] | None = None) -> None:
    # Each worker enforces its share of the platform rate limit (sigsvc.intake.config) and
    # keeps a database connection per thread (sigsvc.db.init_app).
    os.environ["SIGSVC_WORKERS"] = str(settings.workers)
    os.environ["SIGSVC_THREADS"] = str(settings.threads)
    prepare_metrics_dir()
    _Server({**(tls or {}), **gunicorn_options(settings)}, settings).run()
