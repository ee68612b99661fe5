"""Platform API for signatures: post a signed form, withdraw it, read status and receipt."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
import structlog
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

import crypto
from audit.log import Log
from crypto.form import FormKind
from sigsvc import db, registry
from sigsvc.db.models.intake import Signature
from sigsvc.intake import idempotency
from sigsvc.intake import writer as intake_writer
from sigsvc.intake.config import Intake
from sigsvc.intake.ratelimit import Decision
from sigsvc.intake.signatures import (
    RETRY_AFTER_REVOCATION,
    Answer,
    LostIdempotencyRace,
    accept,
    error_answer,
    is_closed,
    policy_for,
    record_rejection,
    signature_json,
    withdraw,
)
from sigsvc.log import events as intake_log
from sigsvc.log.storage import SqlLogStorage
from sigsvc.web.auth import require_platform
from sigsvc.web.context import current_intake, intake_now
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("signatures", __name__)
log = structlog.get_logger("sigsvc.intake")

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
        raise ApiError("TOO_LARGE", f"a signed container is limited to {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise ApiError("TOO_LARGE", f"a signed container is limited to {limit} bytes")
    return bytes(body)


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def _replay(session: Session, platform_id: str, key: str, fingerprint: bytes) -> Response | None:
    decision = idempotency.decide(
        idempotency.lookup(session.connection(), platform_id, key), fingerprint
    )
    if decision.outcome is idempotency.Outcome.CONFLICT:
        raise ApiError("IDEMPOTENCY_KEY_REUSED", "this key was used for a different request")
    if decision.outcome is idempotency.Outcome.REPLAY:
        assert decision.response is not None
        stored = decision.response
        response = Response(stored.body, status=stored.status, content_type=stored.content_type)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return None


def _rate_limited(retry_after: str, which: str) -> ApiError:
    log.info("rate_limited", limit=which, retry_after=retry_after)
    return ApiError("RATE_LIMITED", "too many requests", headers={"Retry-After": retry_after})


def _post(initiative_id: uuid.UUID, kind: FormKind) -> Response:
    principal = require_platform(initiative_id, cached=True)
    intake = current_intake()
    stale = intake.stale_lists()
    if stale:  # verifying against a list its operator should have replaced: not a verdict
        log.error("trust_stale", lists=stale)
        raise ApiError(
            "TRUST_STALE",
            f"trusted list {', '.join(stale)} is past its NextUpdate",
            headers={"Retry-After": "300"},
        )
    decision = intake.limiter.check_platform(principal.id)
    if not decision.allowed:
        raise _rate_limited(decision.retry_after_header, "platform")
    try:
        key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    except idempotency.InvalidIdempotencyKey as exc:
        raise ApiError(exc.code, str(exc)) from exc
    if request.mimetype not in MEDIA_TYPES:
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send " + " or ".join(MEDIA_TYPES))
    container = _read_container(intake.max_container_bytes)
    fingerprint = idempotency.request_fingerprint("POST", request.path, principal.id, container)
    session = db.session()
    replayed = _replay(session, principal.id, key, fingerprint)
    if replayed is not None:
        return replayed
    initiative = registry.cached_initiative(session, initiative_id)
    session.commit()  # verification holds no transaction: it may wait on an OCSP responder
    verdict: crypto.Verdict | None = None
    signer_pseudonym: bytes | None = None
    if not (kind is FormKind.SIGNATURE and is_closed(initiative)):
        verdict = crypto.verify(
            container,
            policy=policy_for(initiative, kind),
            trust=intake.trust,
            fetcher=intake.fetcher,
            at=intake.clock(),
        )
        if verdict.accepted and verdict.signer is not None:
            signer_pseudonym = intake.pseudonyms.signer_pseudonym(
                initiative.id, verdict.signer.personal_code
            )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job = functools.partial(
        _grouped,
        intake,
        initiative,
        principal.id,
        container,
        verdict,
        kind,
        (key, fingerprint),
        signer_pseudonym,
    )
    context = functools.partial(_job_context, app, g.get("request_id", ""))
    for _attempt in range(3):
        try:
            outcome = intake_writer.for_app(app, intake).submit(job, context).result()
        except LostIdempotencyRace:
            session.rollback()
            replayed = _replay(session, principal.id, key, fingerprint)
            if replayed is not None:
                return replayed
            continue
        except sa.exc.IntegrityError:
            continue  # first use of the log head raced; the next group locks it
        if isinstance(outcome, Decision):
            raise _rate_limited(outcome.retry_after_header, "signer")
        log.info(
            "signature_intake",
            kind=kind.value,
            status=outcome.status,
            reason=None if verdict is None or verdict.reason is None else verdict.reason.value,
        )
        return _response(outcome)
    raise ApiError("INTERNAL_ERROR", "could not complete the intake transaction")


@contextlib.contextmanager
def _job_context(app: Flask, request_id: str) -> Iterator[None]:
    """What a job needs in the writer thread: the app, and the request id its answer names."""
    with app.app_context():
        g.request_id = request_id
        yield


def _grouped(
    intake: Intake,
    initiative: Any,
    platform_id: str,
    container: bytes,
    verdict: crypto.Verdict | None,
    kind: FormKind,
    idem: tuple[str, bytes],
    signer_pseudonym: bytes | None,
    session: Session,
) -> Answer | Decision:
    """One request's part of a group transaction (runs in the writer thread, log lock held).

    The per-signer limit is checked here, inside the transaction: its state is written with
    the record, costs no durable write of its own, and holds across processes.
    """
    if signer_pseudonym is not None:
        decision = intake.limiter.check_signer_in(session.connection(), signer_pseudonym)
        if not decision.allowed:
            return decision
    return _decide(session, intake, initiative, platform_id, container, verdict, kind, idem)


def _decide(
    session: Session,
    intake: Intake,
    initiative: Any,
    platform_id: str,
    container: bytes,
    verdict: crypto.Verdict | None,
    kind: FormKind,
    idem: tuple[str, bytes],
) -> Answer:
    digest = hashlib.sha256(container).hexdigest()
    if verdict is None:  # the initiative is closed: refused, and the attempt is logged
        return record_rejection(
            session,
            intake,
            initiative_id=initiative.id,
            platform_id=platform_id,
            container_sha256=digest,
            reason="INITIATIVE_CLOSED",
            indication="TOTAL_FAILED",
            subindication=None,
            answer=error_answer("INITIATIVE_CLOSED"),
            idem=idem,
        )
    if verdict.accepted:
        if kind is FormKind.SIGNATURE:
            return accept(
                session,
                intake,
                initiative=initiative,
                platform_id=platform_id,
                container=container,
                verdict=verdict,
                idem=idem,
            )
        return withdraw(
            session,
            intake,
            initiative=initiative,
            platform_id=platform_id,
            verdict=verdict,
            idem=idem,
        )
    assert verdict.reason is not None
    reason = verdict.reason.value
    # 503 + Retry-After only for a real outage (unreachable, timeout, tryLater, offline).
    revocation = verdict.reason is crypto.Reason.REVOCATION_UNAVAILABLE
    retryable = revocation and verdict.subindication is crypto.SubIndication.TRY_LATER
    headers = (("Retry-After", RETRY_AFTER_REVOCATION),) if retryable else ()
    # Which defect of the personal code (C1); crypto's messages for it never hold the code.
    detail = verdict.message if verdict.reason is crypto.Reason.INVALID_PERSONAL_CODE else None
    answer = error_answer(
        reason,
        detail,
        retryable=retryable,
        headers=headers,
        permanent=revocation and not retryable,
    )
    if kind is FormKind.WITHDRAWAL:  # a refused withdrawal changes nothing and is not counted
        from sigsvc.intake.signatures import _remember

        if not _remember(session, platform_id, idem[0], idem[1], answer):
            raise LostIdempotencyRace
        return answer
    return record_rejection(
        session,
        intake,
        initiative_id=initiative.id,
        platform_id=platform_id,
        container_sha256=digest,
        reason=reason,
        indication=verdict.indication.value,
        subindication=verdict.subindication.value if verdict.subindication else None,
        answer=answer,
        idem=idem,
    )


# Every reason of DESIGN.md's vocabulary (crypto.Reason is its one source) can answer a post.
_SIGNATURE_ERRORS = (
    *_POST_ERRORS,
    *(reason.value for reason in crypto.Reason if reason.value not in _POST_ERRORS),
)


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/signatures",
    methods=["POST"],
    auth="platform",
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


def receipt_for(session: Session, intake: Intake, index: int | None) -> str | None:
    """tlog-proof receipt of leaf `index`; cuts a checkpoint first when one is due."""
    if index is None:
        return None
    storage = SqlLogStorage(session)
    latest = storage.latest_checkpoint()
    if latest is None or latest[0] <= index:
        cut = intake_log.cut_checkpoint_if_due(
            session,
            intake.log_origin,
            intake.log_signer,
            intake_now(),
            intake.checkpoint_interval,
        )
        session.commit()
        if not cut:
            return None
        storage = SqlLogStorage(session)
    return Log(storage, intake.log_origin).receipt(index).decode("utf-8")


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
    require_platform(sig.initiative_id, allow_admin=True)
    intake = current_intake()
    doc = signature_json(sig)
    doc["receipt"] = receipt_for(session, intake, sig.leaf_index)
    if sig.withdrawal_leaf_index is not None:
        doc["withdrawal_receipt"] = receipt_for(session, intake, sig.withdrawal_leaf_index)
    return doc
