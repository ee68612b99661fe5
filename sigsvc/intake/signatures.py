"""Signature intake and withdrawal: verify outside any transaction, then one transaction that
takes the log lock, deduplicates, stores the encrypted record and appends the log leaf.

Why this order: verification can wait on an OCSP responder for seconds and must not hold a
database lock; everything that must be all-or-nothing (idempotency answer, record, leaf,
checkpoint) happens under the log lock, which also makes "first valid signature wins" a plain
read (the unique constraint on (initiative, dedup_key) stays as the last line of defence).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import Session

import crypto
from audit import events
from crypto.form import FormKind
from sigsvc import registry
from sigsvc.db.models import Initiative, InitiativeStatus, utcnow
from sigsvc.db.models.intake import DataKey, Eligibility, Rejection, Signature, SignatureStatus
from sigsvc.intake import idempotency, protection
from sigsvc.intake.config import Intake
from sigsvc.log import events as intake_log
from sigsvc.web.errors import ERROR_CODES

RIGA = ZoneInfo("Europe/Riga")
RETRY_AFTER_REVOCATION = "30"


@dataclass(frozen=True)
class Answer:
    """A final HTTP answer (what the idempotency store replays byte for byte)."""

    status: int
    body: bytes
    retryable: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


# crypto's REVOCATION_UNAVAILABLE with a sub-indication other than TRY_LATER: not an outage.
PERMANENT_REVOCATION_MESSAGE = (
    "no revocation evidence can prove the certificate's status at the signing time "
    "(not an outage: retrying will not help)"
)


def json_answer(status: int, doc: dict[str, Any], **kwargs: Any) -> Answer:
    return Answer(status, json.dumps(doc, ensure_ascii=False).encode("utf-8") + b"\n", **kwargs)


def error_answer(
    code: str, message: str | None = None, *, permanent: bool = False, **kwargs: Any
) -> Answer:
    """The error body; ``message`` (free of personal data) replaces the code's meaning."""
    status, meaning = ERROR_CODES[code]
    if permanent and code == "REVOCATION_UNAVAILABLE":  # evidence exists but proves nothing
        status, meaning = 422, PERMANENT_REVOCATION_MESSAGE
    text = message or meaning
    doc = {"error": {"code": code, "message": text, "request_id": g.get("request_id", "")}}
    return json_answer(status, doc, **kwargs)


def policy_for(initiative: Initiative, kind: FormKind) -> crypto.Policy:
    """The initiative's verification policy: form binding, collection window, minimum age."""
    if kind is FormKind.WITHDRAWAL:  # a withdrawal is allowed until export, not age-bound
        return crypto.Policy(initiative=registry.initiative_fields(initiative), form_kind=kind)
    start = datetime.combine(initiative.starts_on, time(0), RIGA)
    end = datetime.combine(initiative.ends_on + timedelta(days=1), time(0), RIGA)
    return crypto.Policy(
        initiative=registry.initiative_fields(initiative),
        form_kind=kind,
        period_start=start,
        period_end=end,
        minimum_age=initiative.minimum_age,
    )


def _data_key(session: Session, intake: Intake, initiative_id: uuid.UUID) -> bytes:
    """The initiative's DEK, created on first use (under the log lock, so no race)."""
    row = session.get(DataKey, initiative_id)
    if row is None:
        dek = protection.generate_data_key()
        wrapped = protection.wrap_data_key(intake.kek, dek, initiative_id)
        session.add(
            DataKey(initiative_id=initiative_id, kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        )
        session.flush()
        return dek
    return protection.unwrap_data_key(
        intake.kek, protection.WrappedDataKey(row.kek_id, row.wrapped), initiative_id
    )


def _remember(
    session: Session, platform_id: str, key: str, fingerprint: bytes, answer: Answer
) -> bool:
    if not idempotency.is_replayable(answer.status, retryable=answer.retryable):
        return True
    stored = idempotency.StoredResponse(answer.status, answer.content_type, answer.body)
    return idempotency.remember(
        session.connection(), platform_id, key, fingerprint, stored, utcnow()
    )


class LostIdempotencyRace(Exception):
    """Another request with the same key committed first: roll back and replay its answer."""


def record_rejection(
    session: Session,
    intake: Intake,
    *,
    initiative_id: uuid.UUID,
    platform_id: str,
    container_sha256: str,
    reason: str,
    indication: str,
    subindication: str | None,
    answer: Answer,
    idem: tuple[str, bytes],
) -> Answer:
    """Log and count a refused attempt (no personal data), in the caller's transaction."""
    intake_log.locked_storage(session)
    if not _remember(session, platform_id, idem[0], idem[1], answer):
        raise LostIdempotencyRace
    event = events.signature_rejected(
        at=utcnow(),
        initiative=str(initiative_id),
        platform=platform_id,
        container_sha256=container_sha256,
        reason=reason,
        indication=indication,
        sub_indication=subindication,
    )
    (index,) = intake_log.append_events(session, intake.log_origin, [event])
    session.add(
        Rejection(
            initiative_id=initiative_id,
            platform_id=uuid.UUID(platform_id),
            reason=reason,
            container_sha256=container_sha256,
            leaf_index=index,
        )
    )
    session.flush()
    _maybe_checkpoint(session, intake)
    return answer


def _maybe_checkpoint(session: Session, intake: Intake) -> None:
    intake_log.cut_checkpoint_if_due(
        session, intake.log_origin, intake.log_signer, utcnow(), intake.checkpoint_interval
    )


def signature_json(sig: Signature) -> dict[str, Any]:
    return {
        "id": str(sig.id),
        "initiative_id": str(sig.initiative_id),
        "status": sig.status.value,
        "eligibility": sig.eligibility.value,
        "leaf_index": sig.leaf_index,
        "container_sha256": sig.container_sha256,
        "signing_time": sig.signing_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "withdrawal_leaf_index": sig.withdrawal_leaf_index,
        "exported": sig.batch_id is not None,
    }


def accept(
    session: Session,
    intake: Intake,
    *,
    initiative: Initiative,
    platform_id: str,
    container: bytes,
    verdict: crypto.Verdict,
    idem: tuple[str, bytes],
) -> Answer:
    """The intake transaction for an accepted verdict (caller commits)."""
    assert verdict.signer is not None and verdict.signing_time is not None
    signer = verdict.signer
    digest = hashlib.sha256(container).hexdigest()
    dedup = intake.pseudonyms.dedup_key(initiative.id, signer.personal_code)
    intake_log.locked_storage(session)
    existing = session.scalar(
        sa.select(Signature.id).where(
            Signature.initiative_id == initiative.id, Signature.dedup_key == dedup
        )
    )
    if existing is not None:
        return record_rejection(
            session,
            intake,
            initiative_id=initiative.id,
            platform_id=platform_id,
            container_sha256=digest,
            reason="DUPLICATE",
            indication=verdict.indication.value,
            subindication=None,
            answer=error_answer("DUPLICATE"),
            idem=idem,
        )
    sid = intake_log.log_safe_uuid()
    pseudonym = intake.pseudonyms.signer_pseudonym(initiative.id, signer.personal_code).hex()
    event = events.signature_accepted(
        at=utcnow(),
        initiative=str(initiative.id),
        signature=str(sid),
        platform=platform_id,
        container_sha256=digest,
        signer=pseudonym,
        indication=verdict.indication.value,
    )
    (index,) = intake_log.append_events(session, intake.log_origin, [event])
    dek = _data_key(session, intake, initiative.id)

    def sealed(field: str, value: bytes) -> bytes:
        return protection.seal(dek, value, protection.record_aad(initiative.id, sid, field))

    sig = Signature(
        id=sid,
        initiative_id=initiative.id,
        platform_id=uuid.UUID(platform_id),
        dedup_key=dedup,
        status=SignatureStatus.ACCEPTED,
        eligibility=Eligibility.AGE_CHECKED if signer.birth_date else Eligibility.FOR_CVK,
        container_sha256=digest,
        signing_time=verdict.signing_time,
        given_name_enc=sealed("given_name", signer.given_name.encode()),
        surname_enc=sealed("surname", signer.surname.encode()),
        personal_code_enc=sealed("personal_code", signer.personal_code.encode()),
        container_enc=sealed("container", container),
        container_format=verdict.format or "",
        leaf_index=index,
    )
    session.add(sig)
    answer = json_answer(201, {**signature_json(sig), "receipt": None})
    if not _remember(session, platform_id, idem[0], idem[1], answer):
        raise LostIdempotencyRace
    session.flush()
    _maybe_checkpoint(session, intake)
    return answer


def withdraw(
    session: Session,
    intake: Intake,
    *,
    initiative: Initiative,
    platform_id: str,
    verdict: crypto.Verdict,
    idem: tuple[str, bytes],
) -> Answer:
    """The withdrawal transaction for an accepted withdrawal form (caller commits)."""
    assert verdict.signer is not None
    dedup = intake.pseudonyms.dedup_key(initiative.id, verdict.signer.personal_code)
    intake_log.locked_storage(session)
    sig = session.scalar(
        sa.select(Signature).where(
            Signature.initiative_id == initiative.id, Signature.dedup_key == dedup
        )
    )
    if sig is None:
        answer = error_answer("SIGNATURE_NOT_FOUND")
    elif sig.status is SignatureStatus.WITHDRAWN:
        answer = error_answer("ALREADY_WITHDRAWN")
    elif sig.batch_id is not None:
        answer = error_answer("ALREADY_EXPORTED")
    else:
        pseudonym = intake.pseudonyms.signer_pseudonym(
            initiative.id, verdict.signer.personal_code
        ).hex()
        event = events.signature_withdrawn(
            at=utcnow(),
            initiative=str(initiative.id),
            signature=str(sig.id),
            container_sha256=sig.container_sha256,
            signer=pseudonym,
        )
        (index,) = intake_log.append_events(session, intake.log_origin, [event])
        sig.status = SignatureStatus.WITHDRAWN
        sig.withdrawn_at = utcnow()
        sig.withdrawal_leaf_index = index
        session.flush()
        answer = json_answer(200, {**signature_json(sig), "receipt": None})
    if not _remember(session, platform_id, idem[0], idem[1], answer):
        raise LostIdempotencyRace
    if answer.status == 200:
        _maybe_checkpoint(session, intake)
    return answer


def is_closed(initiative: Initiative) -> bool:
    return initiative.status is InitiativeStatus.CLOSED
