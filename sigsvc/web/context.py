"""What views share from the process: the configured intake (or the 503 that says it is not)."""

from __future__ import annotations

from datetime import datetime

import structlog

from sigsvc.db.models import utcnow
from sigsvc.intake import config as intake_config
from sigsvc.intake.config import Intake, IntakeConfigError
from sigsvc.web.errors import ApiError

log = structlog.get_logger("sigsvc.intake")


def current_intake() -> Intake:
    try:
        return intake_config.get()
    except IntakeConfigError as exc:
        log.error("intake_not_configured", detail=str(exc))
        raise ApiError("INTAKE_NOT_CONFIGURED", "signature intake is not configured") from exc


def intake_now() -> datetime:
    return utcnow()
