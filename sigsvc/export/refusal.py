"""A receiver's signed refusal of a batch becomes a ``batch.refused`` log event.

Why log it: a refusal is part of the batch's history an auditor must see (the operator cannot
quietly drop it and re-send); the event carries the reason code and the SHA-256 of the signed
refusal note, which the operator keeps. Only a note signed by the configured receiver key that
says REFUSED is logged, so nobody but the receiver can make the service log a refusal.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from audit import events
from audit.acknowledgement import Acknowledgement
from audit.errors import AuditError
from audit.note import Verifier, open_note
from sigsvc.services import Services

log = structlog.get_logger("sigsvc.handover")


def refusal_reason(note: bytes, key: Verifier) -> str | None:
    """The reason code if ``note`` is the receiver's signed refusal, else None."""
    try:
        opened, _ = open_note(note, [key])
        ack = Acknowledgement.from_text(opened.text)
    except AuditError:
        return None
    if ack.accepted:
        return None
    return ack.reason if re.fullmatch(events.KINDS["code"]["pattern"], ack.reason) else "REFUSED"


def log_refusal(
    session: Session, intake: Services, batch_id: str, note: bytes, key: Verifier, now: datetime
) -> int | None:
    """Append ``batch.refused`` for a verified refusal (caller commits); its leaf index."""
    reason = refusal_reason(note, key)
    if reason is None:
        return None
    event = events.batch_refused(
        at=intake.log.now(session),  # under the log lock (`now` dates records only)
        batch=batch_id,
        reason=reason,
        acknowledgement_sha256=hashlib.sha256(note).hexdigest(),
    )
    (index,) = intake.log.append(session, [event])
    intake.log.cut_if_due(session)
    log.warning("batch_refused", batch=batch_id, reason=reason, leaf_index=index)
    return index
