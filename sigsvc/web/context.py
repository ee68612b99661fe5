"""What views are handed from the process: its `Services` (or the 503 that says intake is not
configured) and the log the registry writes."""

from __future__ import annotations

import threading
from datetime import datetime

import structlog
from flask import Flask, current_app
from sqlalchemy.orm import Session

from sigsvc import services
from sigsvc.intake.writer import GroupWriter
from sigsvc.log.service import LogService
from sigsvc.services import IntakeConfigError, Services
from sigsvc.web.errors import ApiError

log = structlog.get_logger("sigsvc.intake")


def current_services() -> Services:
    try:
        return services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except IntakeConfigError as exc:
        log.error("intake_not_configured", detail=str(exc))
        raise ApiError("INTAKE_NOT_CONFIGURED", "signature intake is not configured") from exc


def now() -> datetime:
    """The service's clock (the process's Services' when built)."""
    return registry_log().clock()


def registry_log() -> LogService:
    return services.log_service(current_app._get_current_object())  # type: ignore[attr-defined]


_APP_LOCK = threading.Lock()
_KEY = "sigsvc.intake_writer"


def intake_writer(app: Flask, services: Services) -> GroupWriter:
    """The process's intake writer for ``app`` (made on first use, after any fork; closed by
    sigsvc.services.close)."""
    found: GroupWriter | None = app.extensions.get(_KEY)
    if found is None:
        with _APP_LOCK:
            found = app.extensions.get(_KEY)
            if found is None:
                log = services.log
                cut_here: list[datetime] = []  # when this writer last cut a checkpoint

                def finish(session: Session) -> None:
                    now = log.clock()
                    # The newest cut of any process is at least as recent as this writer's:
                    # within the interval of it no cut can be due (skips the check's queries).
                    recent = cut_here and (now - cut_here[0]).total_seconds() < log.interval
                    if not recent and log.cut_if_due(session):
                        cut_here[:] = [now]

                found = GroupWriter(
                    app.extensions["sigsvc.db"]["sessions"],
                    begin=log.lock,
                    finish=finish,
                )
                app.extensions[_KEY] = found
    return found
