"""What views are handed from the process: its `Services` (or the 503 that says intake is not
configured) and the log the registry writes."""

from __future__ import annotations

from datetime import datetime

import structlog
from flask import current_app

from sigsvc import services
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
