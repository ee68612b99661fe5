"""Platform API for signatures: post a signed form, withdraw it, read status and receipt.

The views read the HTTP request and render answers; `sigsvc.intake.submit` does the intake.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

import crypto
from crypto.form import FormKind
from sigsvc import db
from sigsvc.db.models.intake import Signature
from sigsvc.intake import idempotency
from sigsvc.intake.signatures import Answer, json_answer, signature_json
from sigsvc.intake.submit import Request, submit
from sigsvc.web.auth import require_platform
from sigsvc.web.context import current_services, intake_writer
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ERROR_CODES, ApiError

bp = Blueprint("signatures", __name__)

MEDIA_TYPES = ("application/vnd.etsi.asic-e+zip", "application/pdf")
_POST_ERRORS = (
    "IDEMPOTENCY_KEY_MISSING",
    "IDEMPOTENCY_KEY_INVALID",
    "IDEMPOTENCY_KEY_REUSED",
    "UNSUPPORTED_MEDIA_TYPE",
    "TOO_LARGE",
    "RATE_LIMITED",
    "INTAKE_NOT_CONFIGURED",
    "TRUST_STALE",
    "REVOCATION_UNAVAILABLE",
)
_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "unique per logical request; a retry with the same key and body replays",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}


def _read_container(limit: int) -> bytes:
    # Size limit before parsing, and before reading more than limit + 1 bytes of the body.
    if request.content_length is not None and request.content_length > limit:
        _drain()
        raise ApiError("TOO_LARGE", f"a signed container is limited to {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        _drain()
        raise ApiError("TOO_LARGE", f"a signed container is limited to {limit} bytes")
    return bytes(body)


def _drain() -> None:
    """Read and drop the rest of a body the app-wide gate let through (at most
    SIGSVC_MAX_CONTENT_LENGTH): answered and closed unread, a proxy still sending it sees the
    connection reset and answers 502 instead of our 413 (tests/deploy/test_nginx.py)."""
    while request.stream.read(1 << 16):
        pass


def _response(answer: Answer) -> Response:
    if answer.status >= 400 and answer.content_type == "application/json":
        with contextlib.suppress(ValueError, KeyError, TypeError):  # the request log and metrics
            g.error_code = json.loads(answer.body)["error"]["code"]
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


# crypto's REVOCATION_UNAVAILABLE with a sub-indication other than TRY_LATER: not an outage.
PERMANENT_REVOCATION_MESSAGE = (
    "no revocation evidence can prove the certificate's status at the signing time "
    "(not an outage: retrying will not help)"
)


def _error_answer(
    code: str,
    message: str | None = None,
    *,
    retryable: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
    permanent: bool = False,
) -> Answer:
    status, meaning = ERROR_CODES[code]
    if permanent and code == "REVOCATION_UNAVAILABLE":  # evidence exists but proves nothing
        status, meaning = 422, PERMANENT_REVOCATION_MESSAGE
    text = message or meaning
    doc = {"error": {"code": code, "message": text, "request_id": g.get("request_id", "")}}
    return json_answer(status, doc, retryable=retryable, headers=headers)


def _read(principal_id: str, limit: int) -> Request:
    try:
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    except idempotency.InvalidIdempotencyKey as exc:
        raise ApiError(exc.code, str(exc)) from exc
    if request.mimetype not in MEDIA_TYPES:
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send " + " or ".join(MEDIA_TYPES))
    container = _read_container(limit)
    fingerprint = idempotency.request_fingerprint("POST", request.path, principal_id, container)
    return Request(key, container, fingerprint)


@contextlib.contextmanager
def _job_context(app: Flask, request_id: str) -> Iterator[None]:
    """What a job needs in the writer thread: the app, and the request id its answer names."""
    with app.app_context():
        g.request_id = request_id
        yield


def _post(initiative_id: uuid.UUID, kind: FormKind) -> Response:
    principal = require_platform(initiative_id, cached=True)
    services = current_services()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    request_id = g.get("request_id", "")
    answer = submit(
        services,
        db.session(),
        platform_id=principal.id,
        initiative_id=initiative_id,
        kind=kind,
        read=lambda: _read(principal.id, services.max_container_bytes),
        answers=_error_answer,
        writer=intake_writer(app, services),
        context=lambda: _job_context(app, request_id),
    )
    return _response(answer)


# Every reason of docs/design.md's vocabulary (crypto.Reason is its one source) can answer a post.
_SIGNATURE_ERRORS = (
    *_POST_ERRORS,
    *(reason.value for reason in crypto.Reason if reason.value not in _POST_ERRORS),
)


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/signatures",
    methods=["POST"],
    auth="platform",
    cached_auth=True,  # the key as _post's require_platform(cached=True) checks it
    responses={201: "signature"},
    query=[_IDEMPOTENCY_HEADER],
    request_media=MEDIA_TYPES,
    errors=_SIGNATURE_ERRORS,
    summary=(
        "Submit one signed signature form: body application/vnd.etsi.asic-e+zip (.edoc) or "
        "application/pdf (PAdES); Idempotency-Key required. 201 accepted; 422 with one reason; "
        "409 DUPLICATE (first valid wins); 503 REVOCATION_UNAVAILABLE (retry)."
    ),
)
def post_signature(initiative_id: uuid.UUID) -> Response:
    return _post(initiative_id, FormKind.SIGNATURE)


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/withdrawals",
    methods=["POST"],
    auth="platform",
    cached_auth=True,  # the key as _post's require_platform(cached=True) checks it
    responses={200: "signature"},
    query=[_IDEMPOTENCY_HEADER],
    request_media=MEDIA_TYPES,
    errors=(*_SIGNATURE_ERRORS, "SIGNATURE_NOT_FOUND", "ALREADY_WITHDRAWN", "ALREADY_EXPORTED"),
    summary=(
        "Withdraw a signature with a qualified-signed withdrawal form (Paraksta atsaukums) of "
        "the same person; refused with ALREADY_EXPORTED once the signature is in a batch."
    ),
)
def post_withdrawal(initiative_id: uuid.UUID) -> Response:
    return _post(initiative_id, FormKind.WITHDRAWAL)


@endpoint(
    bp,
    "/v1/signatures/<uuid:signature_id>",
    methods=["GET"],
    auth="platform_or_admin",
    responses={200: "signature"},
    errors=("INTAKE_NOT_CONFIGURED",),
    summary=(
        "Status of a signature and, once a signed checkpoint covers its log leaf, a C2SP "
        "tlog-proof receipt (verify offline with `sigaudit verify-receipt`)."
    ),
)
def get_signature(signature_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    sig = session.get(Signature, signature_id)
    if sig is None:
        raise ApiError("NOT_FOUND", "no such signature")
    principal = require_platform(sig.initiative_id, allow_admin=True)
    if principal.kind != "admin" and str(sig.platform_id) != principal.id:
        # Another platform on the same initiative: as if it did not exist (status and receipt
        # say who signed what, when; only the submitting platform and admins may see them).
        raise ApiError("NOT_FOUND", "no such signature")
    log = current_services().log
    doc = signature_json(sig)
    doc["receipt"] = None if sig.leaf_index is None else log.receipt(session, sig.leaf_index)
    if sig.withdrawal_leaf_index is not None:
        doc["withdrawal_receipt"] = log.receipt(session, sig.withdrawal_leaf_index)
    return doc
