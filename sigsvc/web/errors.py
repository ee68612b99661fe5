"""One JSON error shape for every error: {"error": {"code", "message", "request_id"}}.

Codes are a stable API (listed in ERROR_CODES and in openapi.json); messages are for humans and
never carry submitted values, because those may be personal data.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

log = structlog.get_logger("sigsvc.errors")

# DESIGN.md reject reasons answered 422 (TOO_LARGE stays 413, INITIATIVE_CLOSED/DUPLICATE 409,
# REVOCATION_UNAVAILABLE 503: it is retryable).
VERIFICATION_REASONS: dict[str, str] = {
    "MALFORMED_CONTAINER": "the container is not a well-formed ASiC-E/edoc or PDF",
    "UNSAFE_INPUT": "the container holds a hostile construct",
    "UNSUPPORTED_FORMAT": "neither ASiC-E/edoc nor PAdES",
    "SIGNATURE_INVALID": "the signature does not verify",
    "DOCUMENT_MISMATCH": "the signed file is not this initiative's signature form",
    "IDENTITY_MISMATCH": "the form names another person than the certificate",
    "UNTRUSTED_CHAIN": "the certificate does not chain to a trusted, granted CA/QC service",
    "NOT_QUALIFIED": "not a qualified certificate for e-signatures on a QSCD",
    "KEY_USAGE": "the certificate lacks nonRepudiation",
    "WEAK_ALGORITHM": "an algorithm or key size below policy",
    "CERT_EXPIRED": "the certificate had expired at signing time",
    "CERT_NOT_YET_VALID": "the certificate was not yet valid at signing time",
    "CERT_REVOKED": "the certificate is revoked",
    "NO_TIMESTAMP": "no qualified time stamp (XAdES-T at least is required)",
    "TIMESTAMP_INVALID": "the time stamp is invalid or not qualified",
    "OUTSIDE_PERIOD": "signed outside the initiative's collection period",
    "UNDERAGE": "the signer is under the regime's minimum age on the signing date",
    "INVALID_PERSONAL_CODE": "the certificate's personal code is invalid",
    "MULTIPLE_SIGNATURES": "the container holds more than one signature",
}

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
    "DOWNLOAD_TOKEN_INVALID": (401, "the download token is unknown, used or for another batch"),
    "DATA_PURGED": (410, "the personal data was deleted after the retention period"),
    "BATCH_NOT_CONFIGURED": (503, "the batch seal key or certificate is not configured"),
    "SEAL_EVIDENCE_UNAVAILABLE": (503, "the TSA or OCSP responder for the seal: retry later"),
    "RATE_LIMITED": (429, "too many requests: retry after Retry-After seconds"),
    "REVOCATION_UNAVAILABLE": (503, "the revocation responder is unreachable: retry later"),
    "INTAKE_NOT_CONFIGURED": (503, "trust, keys or log key are not configured"),
    "TRUST_STALE": (503, "a trusted list is past its NextUpdate: retry after the refresh"),
    **{reason: (422, meaning) for reason, meaning in VERIFICATION_REASONS.items()},
    "INTERNAL_ERROR": (500, "unexpected server error"),
    "NOT_READY": (503, "the service is not ready"),
}

_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class ApiError(Exception):
    """Raise anywhere in a request to answer with the JSON error shape."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None):
        if code not in ERROR_CODES:
            raise KeyError(f"unregistered error code {code}")
        super().__init__(message)
        self.code = code
        self.status = ERROR_CODES[code][0]
        self.message = message
        self.headers = headers or {}


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

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return error_response(code, ERROR_CODES[code][1], status, headers)

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
