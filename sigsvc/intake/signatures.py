"""The intake transaction: one attempt's outcome written under the log lock, all or nothing.

Taking the log lock first makes "first valid signature wins" a plain read (the unique constraint
on (initiative, dedup_key) stays as the last line of defence) and puts the idempotency answer,
the encrypted record, the log leaf and any due checkpoint (cut once per group by the intake
writer, after its jobs) in one commit. Answers are built by
the caller's `Answers` (the web layer's JSON error shape), so this module knows no HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

import crypto
from audit import events
from crypto.form import RIGA, FormKind
from sigsvc import registry
from sigsvc.db.models import Initiative, InitiativeStatus
from sigsvc.db.models.intake import DataKey, Eligibility, Rejection, Signature, SignatureStatus
from sigsvc.intake import idempotency, protection
from sigsvc.log.service import log_safe_uuid
from sigsvc.services import Services

RETRY_AFTER_REVOCATION = "30"
_SIGNATURES = cast(sa.Table, Signature.__table__)  # Core inserts (see accept)
_REJECTIONS = cast(sa.Table, Rejection.__table__)


@dataclass(frozen=True)
class Answer:
    """A final answer to the platform (what the idempotency store replays byte for byte)."""

    status: int
    body: bytes
    retryable: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


class Answers(Protocol):
    """How refusals are answered (status and body): given by the web layer."""

    def __call__(
        self,
        code: str,
        message: str | None = None,
        *,
        retryable: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
        permanent: bool = False,
    ) -> Answer:
        """``message`` (free of personal data) replaces the code's meaning; ``permanent``: a
        REVOCATION_UNAVAILABLE that retrying cannot change."""
        ...


def json_answer(status: int, doc: dict[str, Any], **kwargs: Any) -> Answer:
    return Answer(status, json.dumps(doc, ensure_ascii=False).encode("utf-8") + b"\n", **kwargs)


@dataclass(frozen=True)
class Attempt:
    """One submitted form: what every outcome records."""

    initiative: Initiative
    platform_id: str
    container: bytes
    idempotency_key: str
    fingerprint: bytes

    @property
    def container_sha256(self) -> str:
        return hashlib.sha256(self.container).hexdigest()


class LostIdempotencyRace(Exception):
    """Another request with the same key committed first: roll back and replay its answer."""


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


def is_closed(initiative: Initiative) -> bool:
    return initiative.status is InitiativeStatus.CLOSED


def signature_json(sig: Signature) -> dict[str, Any]:
    return signature_doc(
        sig.id,
        sig.initiative_id,
        sig.status,
        sig.eligibility,
        sig.leaf_index,
        sig.container_sha256,
        sig.signing_time,
        sig.withdrawal_leaf_index,
        exported=sig.batch_id is not None,
    )


def signature_doc(
    sid: uuid.UUID,
    initiative_id: uuid.UUID,
    status: SignatureStatus,
    eligibility: Eligibility,
    leaf_index: int,
    container_sha256: str,
    signing_time: datetime,
    withdrawal_leaf_index: int | None,
    *,
    exported: bool,
) -> dict[str, Any]:
    """A signature as the API shows it (from a record, or from the columns of one being
    written: the group transaction builds no ORM object)."""
    return {
        "id": str(sid),
        "initiative_id": str(initiative_id),
        "status": status.value,
        "eligibility": eligibility.value,
        "leaf_index": leaf_index,
        "container_sha256": container_sha256,
        "signing_time": signing_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "withdrawal_leaf_index": withdrawal_leaf_index,
        "exported": exported,
    }


_SEALED_FIELDS = ("given_name", "surname", "personal_code", "container")


def record_columns(
    sid: uuid.UUID, attempt: Attempt, verdict: crypto.Verdict, dedup: bytes
) -> dict[str, Any]:
    """An accepted signature's record columns, but the sealed ones and its leaf index."""
    assert verdict.signer is not None
    return {
        "id": sid,
        "initiative_id": attempt.initiative.id,
        "platform_id": uuid.UUID(attempt.platform_id),
        "dedup_key": dedup,
        "status": SignatureStatus.ACCEPTED,
        "eligibility": (
            Eligibility.AGE_CHECKED if verdict.signer.birth_date else Eligibility.FOR_CVK
        ),
        "container_sha256": attempt.container_sha256,
        "signing_time": verdict.signing_time,
        "container_format": verdict.format or "",
    }


def sealed_columns(
    dek: bytes, initiative_id: uuid.UUID, sid: uuid.UUID, verdict: crypto.Verdict, container: bytes
) -> dict[str, bytes]:
    """The record's sealed columns (AES-GCM under the initiative's data key, bound to the row)."""
    assert verdict.signer is not None
    person = verdict.signer
    plain = (person.given_name.encode(), person.surname.encode(), person.personal_code.encode())
    return {
        f"{field}_enc": protection.seal(
            dek, value, protection.record_aad(initiative_id, sid, field)
        )
        for field, value in zip(_SEALED_FIELDS, (*plain, container), strict=True)
    }


def accepted_answer(row: Mapping[str, Any]) -> Answer:
    """The 201 for a signature record being inserted (its column values)."""
    doc = signature_doc(
        row["id"],
        row["initiative_id"],
        row["status"],
        row["eligibility"],
        row["leaf_index"],
        row["container_sha256"],
        row["signing_time"],
        None,
        exported=False,
    )
    return json_answer(201, {**doc, "receipt": None})


@dataclass(frozen=True)
class Refused:
    """A refused attempt: its answer and what `reject` logs."""

    answer: Answer
    reason: str
    indication: str
    subindication: str | None = None


def refusal(verdict: crypto.Verdict, answers: Answers) -> Refused:
    """The answer to a verdict that refuses the form, and what is logged of it."""
    assert verdict.reason is not None
    reason = verdict.reason.value
    # 503 + Retry-After only for a real outage (unreachable, timeout, tryLater, offline).
    revocation = verdict.reason is crypto.Reason.REVOCATION_UNAVAILABLE
    retryable = revocation and verdict.subindication is crypto.SubIndication.TRY_LATER
    headers = (("Retry-After", RETRY_AFTER_REVOCATION),) if retryable else ()
    # Which defect of the personal code (C1); crypto's messages for it never hold the code.
    detail = verdict.message if verdict.reason is crypto.Reason.INVALID_PERSONAL_CODE else None
    # Only answers about a signature are final for the key; a body that never reached one
    # (empty, not a container, broken zip/XML) is not remembered, so the platform's retry
    # with the real container under the same key is verified instead of refused with 409.
    forgettable = retryable or verdict.reason in _NOT_A_SIGNATURE
    answer = answers(
        reason,
        detail,
        retryable=forgettable,
        headers=headers,
        permanent=revocation and not retryable,
    )
    subindication = verdict.subindication.value if verdict.subindication else None
    return Refused(answer, reason, verdict.indication.value, subindication)


_NOT_A_SIGNATURE = frozenset(
    {
        crypto.Reason.UNSUPPORTED_FORMAT,
        crypto.Reason.MALFORMED_CONTAINER,
        crypto.Reason.TOO_LARGE,
        crypto.Reason.UNSAFE_INPUT,
    }
)


def remember(session: Session, services: Services, attempt: Attempt, answer: Answer) -> None:
    """Store a final answer under the attempt's Idempotency-Key (in the caller's transaction)."""
    if not idempotency.is_replayable(answer.status, retryable=answer.retryable):
        return
    stored = idempotency.StoredResponse(answer.status, answer.content_type, answer.body)
    if not idempotency.remember(
        session.connection(),
        attempt.platform_id,
        attempt.idempotency_key,
        attempt.fingerprint,
        stored,
        services.clock(),
    ):
        raise LostIdempotencyRace


def reject(
    session: Session,
    services: Services,
    attempt: Attempt,
    answer: Answer,
    reason: str,
    indication: str,
    subindication: str | None = None,
) -> Answer:
    """Log and count a refused attempt (no personal data), in the caller's transaction."""
    at = services.log.now(session)  # dated under the log lock: events stay in time order
    remember(session, services, attempt, answer)
    event = events.signature_rejected(
        at=at,
        initiative=str(attempt.initiative.id),
        platform=attempt.platform_id,
        container_sha256=attempt.container_sha256,
        reason=reason,
        indication=indication,
        sub_indication=subindication,
    )
    (index,) = services.log.append(session, [event])
    session.execute(  # Core, not the ORM's unit of work: one statement, a third of the CPU
        sa.insert(_REJECTIONS),
        {
            "id": uuid.uuid4(),
            "initiative_id": attempt.initiative.id,
            "platform_id": uuid.UUID(attempt.platform_id),
            "reason": reason,
            "container_sha256": attempt.container_sha256,
            "leaf_index": index,
        },
    )
    return answer


def accept(
    session: Session,
    services: Services,
    attempt: Attempt,
    verdict: crypto.Verdict,
    answers: Answers,
) -> Answer:
    """The intake transaction for an accepted signature form (caller commits)."""
    assert verdict.signer is not None and verdict.signing_time is not None
    signer, initiative = verdict.signer, attempt.initiative
    dedup = services.pseudonyms.dedup_key(initiative.id, signer.personal_code)
    services.log.lock(session)
    existing = session.scalar(
        sa.select(Signature.id).where(
            Signature.initiative_id == initiative.id, Signature.dedup_key == dedup
        )
    )
    if existing is not None:
        duplicate = answers("DUPLICATE")
        return reject(session, services, attempt, duplicate, "DUPLICATE", verdict.indication.value)
    sid = log_safe_uuid()
    pseudonym = services.pseudonyms.signer_pseudonym(initiative.id, signer.personal_code).hex()
    digest = attempt.container_sha256
    event = events.signature_accepted(
        at=services.log.now(session),
        initiative=str(initiative.id),
        signature=str(sid),
        platform=attempt.platform_id,
        container_sha256=digest,
        signer=pseudonym,
        indication=verdict.indication.value,
    )
    (index,) = services.log.append(session, [event])
    dek = _data_key(session, services, initiative.id)
    row = {
        **record_columns(sid, attempt, verdict, dedup),
        **sealed_columns(dek, initiative.id, sid, verdict, attempt.container),
        "leaf_index": index,
    }
    # Core, not the ORM's unit of work (one statement, a third of the CPU).
    session.execute(sa.insert(_SIGNATURES), row)
    answer = accepted_answer(row)
    remember(session, services, attempt, answer)
    return answer


def withdraw(
    session: Session,
    services: Services,
    attempt: Attempt,
    verdict: crypto.Verdict,
    answers: Answers,
) -> Answer:
    """The withdrawal transaction for an accepted withdrawal form (caller commits)."""
    assert verdict.signer is not None
    initiative = attempt.initiative
    dedup = services.pseudonyms.dedup_key(initiative.id, verdict.signer.personal_code)
    services.log.lock(session)
    sig = session.scalar(
        sa.select(Signature).where(
            Signature.initiative_id == initiative.id, Signature.dedup_key == dedup
        )
    )
    if sig is None:
        answer = answers("SIGNATURE_NOT_FOUND")
    elif sig.status is SignatureStatus.WITHDRAWN:
        answer = answers("ALREADY_WITHDRAWN")
    elif sig.batch_id is not None:
        answer = answers("ALREADY_EXPORTED")
    else:
        pseudonym = services.pseudonyms.signer_pseudonym(
            initiative.id, verdict.signer.personal_code
        ).hex()
        at = services.log.now(session)
        event = events.signature_withdrawn(
            at=at,
            initiative=str(initiative.id),
            signature=str(sig.id),
            container_sha256=sig.container_sha256,
            signer=pseudonym,
        )
        (index,) = services.log.append(session, [event])
        sig.status = SignatureStatus.WITHDRAWN
        sig.withdrawn_at = at
        sig.withdrawal_leaf_index = index
        session.flush()
        answer = json_answer(200, {**signature_json(sig), "receipt": None})
    remember(session, services, attempt, answer)
    return answer


def _data_key(session: Session, services: Services, initiative_id: uuid.UUID) -> bytes:
    """The initiative's DEK, created on first use (under the log lock, so no race)."""
    row = session.get(DataKey, initiative_id)
    if row is None:
        dek = protection.generate_data_key()
        wrapped = protection.wrap_data_key(services.kek, dek, initiative_id)
        session.add(
            DataKey(initiative_id=initiative_id, kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        )
        session.flush()
        return dek
    return protection.unwrap_data_key(
        services.kek, protection.WrappedDataKey(row.kek_id, row.wrapped), initiative_id
    )
