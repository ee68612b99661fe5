"""structlog JSON logs, one object per line, each with the request id (null outside requests).

Personal data never belongs in a log: request lines name the route template, not the path or
query string; errors log types and frames, not messages. `redact_personal_codes` is a last line
of defence for anything that slips through.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
import traceback
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from flask import Flask, Response, g, request
from structlog.typing import Processor

from crypto import personal_code
from sigsvc import metrics

log = structlog.get_logger("sigsvc.http")

# A personal code (crypto.personal_code's shape, dash optional) wherever it appears in a value
# is redacted. Over-redacting an unrelated 11-digit run is the accepted price.
_NOT_REDACTED = frozenset({"request_id", "timestamp"})
# An inbound X-Request-Id is kept only as a lowercase UUID (hex and hyphens: no name fits) with
# no run of 11+ decimal digits once hyphens are dropped (no personal code fits, DDMMYY-NNNNN or
# 32NNNN-NNNNN; ~6 % of random UUIDs are replaced too, harmlessly);
# anything else, e.g. "lb-321234-56789", is replaced by our own random id and never logged.
_INBOUND_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGIT_RUN = re.compile(r"\d{11,}")


def inbound_request_id(value: str) -> str | None:
    """`value` when its shape cannot carry personal data, else None."""
    if not _INBOUND_REQUEST_ID.fullmatch(value):
        return None
    if _DIGIT_RUN.search(value.replace("-", "")):
        return None
    return value


REQUEST_ID_HEADER = "X-Request-Id"


def _ensure_request_id(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    event.setdefault("request_id", None)
    return event


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return personal_code.redact(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_personal_codes(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    return {k: v if k in _NOT_REDACTED else _redact(v) for k, v in event.items()}


def _safe_exc_info(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    # Exception messages can quote submitted values (database errors quote bound parameters),
    # so only the exception type and the stack frames are logged.
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        exc_type, _exc, tb = exc_info
        if exc_type is not None:
            event["exc_type"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            event["stack"] = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb)]
    return event


class _StderrLogger:
    """Writes to whatever sys.stderr is at call time (so test capture and redirection work)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "sigsvc"

    def msg(self, message: str) -> None:
        stream: TextIO = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _DynamicStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _ensure_request_id,
]


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: structlog and stdlib logging (werkzeug, gunicorn, alembic) as JSON lines."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    render: list[Processor] = [
        _safe_exc_info,
        redact_personal_codes,
        structlog.processors.JSONRenderer(sort_keys=True, ensure_ascii=False),
    ]
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.add_logger_name, *render],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=lambda *args: _StderrLogger(*args[:1]),
        cache_logger_on_first_use=False,
    )
    handler = _DynamicStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    handler._sigsvc = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_sigsvc", False)]
    root.addHandler(handler)
    root.setLevel(numeric)
    # werkzeug's request lines carry the raw path and query string (personal data on /form).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Alembic announces its dialect on every readiness probe; keep warnings only.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        inbound = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = inbound_request_id(inbound) or secrets.token_hex(16)
        g.request_started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:  # failed before _start ran (e.g. routing error in a hook)
            request_id = g.request_id = secrets.token_hex(16)
            structlog.contextvars.bind_contextvars(request_id=request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started else 0.0
        route = request.url_rule.rule if request.url_rule else None
        principal = g.get("principal")
        log.info(
            "request",
            method=request.method,
            route=route,
            status=response.status_code,
            error_code=g.get("error_code"),
            platform=principal.id
            if principal is not None and principal.kind == "platform"
            else None,
            duration_ms=round(seconds * 1000, 2) if started else None,
        )
        metrics.request_finished(
            route,
            request.method,
            response.status_code,
            g.get("error_code"),
            seconds,
            replayed=response.headers.get("Idempotent-Replayed") == "true",
        )
        return response

    @app.teardown_request
    def _clear(_exc: BaseException | None) -> None:
        structlog.contextvars.clear_contextvars()
