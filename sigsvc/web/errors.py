"""One JSON error shape for every error: {"error": {"code", "message", "request_id"}}.

Codes are a stable API (listed in ERROR_CODES and in openapi.json); messages are for humans and
never carry submitted values, because those may be personal data.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, g, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from crypto.reasons import MEANINGS, Reason
from sigsvc.refusal import Refusal

log = structlog.get_logger("sigsvc.errors")

# Reject reasons (crypto.Reason) are answered 422 with crypto's meaning, except those mapped
# explicitly below: TOO_LARGE 413, INITIATIVE_CLOSED and DUPLICATE 409, REVOCATION_UNAVAILABLE
# 503 (it is retryable).
_NOT_422 = {"TOO_LARGE", "INITIATIVE_CLOSED", "DUPLICATE", "REVOCATION_UNAVAILABLE"}

# code -> (HTTP status, meaning)
ERROR_CODES: dict[str, tuple[int, str]] = {
    "BAD_REQUEST": (400, "the request could not be understood"),
    "MALFORMED_JSON": (400, "the body is not a single valid UTF-8 JSON document"),
    "WRONG_TYPE": (400, "a field has the wrong JSON type"),
    "MISSING_FIELD": (400, "a required field is absent"),
    "UNKNOWN_FIELD": (400, "a field is not part of the schema"),
    "INVALID_FIELD": (400, "a field has a value outside what the schema allows"),
    "INVALID_PARAMETER": (400, "a query parameter is missing or invalid"),
    "PERIOD_END_BEFORE_START": (400, "the collection period ends before it starts"),
    "PERIOD_TOO_LONG": (400, "the collection period is longer than the regime allows"),
    "TOKEN_MISSING": (401, "no Authorization: Bearer token"),
    "TOKEN_INVALID": (401, "the bearer token is unknown or revoked"),
    "FORBIDDEN": (403, "the credential may not do this"),
    "NOT_FOUND": (404, "no such resource"),
    "METHOD_NOT_ALLOWED": (405, "the resource does not support this method"),
    "DUPLICATE_REGISTRATION_NUMBER": (409, "an initiative with this CVK number exists"),
    "DUPLICATE_NAME": (409, "a platform with this name exists"),
    "ALREADY_REVOKED": (409, "the platform key or admin token is already revoked"),
    "INITIATIVE_CLOSED": (409, "the initiative is closed"),
    "TOO_LARGE": (413, "the request body exceeds the size limit"),
    "REQUEST_TIMEOUT": (408, "the request body did not arrive in time"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "the body must be application/json"),
    "IDEMPOTENCY_KEY_MISSING": (400, "send an Idempotency-Key header"),
    "IDEMPOTENCY_KEY_INVALID": (400, "the Idempotency-Key header is malformed"),
    "IDEMPOTENCY_KEY_REUSED": (409, "this Idempotency-Key was used for a different request"),
    "DUPLICATE": (409, "this person has already signed this initiative (first valid wins)"),
    "SIGNATURE_NOT_FOUND": (404, "no accepted signature of this person for this initiative"),
    "ALREADY_WITHDRAWN": (409, "the signature is already withdrawn"),
    "ALREADY_EXPORTED": (409, "the signature was exported to CVK in a batch: too late to withdraw"),
    "NOTHING_TO_EXPORT": (409, "no accepted signature of the initiative is waiting for export"),
    "BATCH_LOCKED": (409, "the batch is acknowledged or purged: it cannot change any more"),
    "ACKNOWLEDGEMENT_INVALID": (422, "the acknowledgement is not a valid signed acceptance of it"),
    "DOWNLOAD_TOKEN_INVALID": (
        401,
        "the download token is unknown, used, expired or for another batch",
    ),
    "DATA_PURGED": (410, "the personal data was deleted after the retention period"),
    "BATCH_NOT_CONFIGURED": (503, "the batch seal key or certificate is not configured"),
    "SEAL_EVIDENCE_UNAVAILABLE": (503, "the TSA or OCSP responder for the seal: retry later"),
    "RATE_LIMITED": (429, "too many requests: retry after Retry-After seconds"),
    "REVOCATION_UNAVAILABLE": (503, "the revocation responder is unreachable: retry later"),
    "INTAKE_NOT_CONFIGURED": (503, "trust, keys or log key are not configured"),
    "TRUST_STALE": (503, "a trusted list is past its NextUpdate: retry after the refresh"),
    **{r.value: (422, MEANINGS[r]) for r in Reason if r.value not in _NOT_422},
    "INTERNAL_ERROR": (500, "unexpected server error"),
    "STORAGE_UNAVAILABLE": (503, "the database is unreachable or full: retry later"),
    "NOT_READY": (503, "the service is not ready"),
}

RETRY_AFTER_STORAGE = "5"  # seconds: a database restart or a freed disk is back within that

_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class ApiError(Refusal):
    """A refusal of the HTTP layer itself (authentication, media type, size, parameters)."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None):
        if code not in ERROR_CODES:
            raise KeyError(f"unregistered error code {code}")
        super().__init__(code, message)
        self.status = ERROR_CODES[code][0]
        self.headers = headers or {}


def refusal_headers(refusal: Refusal) -> dict[str, str]:
    return {} if refusal.retry_after is None else {"Retry-After": refusal.retry_after}


def error_response(
    code: str, message: str, status: int | None = None, headers: Any = None
) -> Response:
    body = {"error": {"code": code, "message": message, "request_id": g.get("request_id", "")}}
    response = jsonify(body)
    response.status_code = status or ERROR_CODES[code][0]
    g.error_code = code
    if headers:
        response.headers.update(headers)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.code, exc.message, exc.status, exc.headers)

    @app.errorhandler(Refusal)
    def _refusal(exc: Refusal) -> Response:
        return error_response(exc.code, exc.message, headers=refusal_headers(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return error_response(code, ERROR_CODES[code][1], status, headers)

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def _storage(exc: sa_exc.DBAPIError) -> Response:
        # Disk full, database restarting, connection lost: nothing was committed (a request's
        # writes are one transaction), so the platform retries under the same Idempotency-Key.
        # The message is not logged (it may quote bound values); the driver's type says enough.
        log.error("storage_unavailable", exc_type=type(exc.orig).__name__)
        return error_response(
            "STORAGE_UNAVAILABLE",
            ERROR_CODES["STORAGE_UNAVAILABLE"][1],
            headers={"Retry-After": RETRY_AFTER_STORAGE},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The exception message is not logged: database errors quote bound values, which
        # may be personal data. The type and the stack frames locate the fault.
        log.error(
            "unhandled_exception",
            exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            stack=_frames(exc),
        )
        return error_response("INTERNAL_ERROR", ERROR_CODES["INTERNAL_ERROR"][1], 500)


def _frames(exc: BaseException) -> list[str]:
    import traceback

    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
