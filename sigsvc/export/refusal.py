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
from audit.errors import AuditError
from audit.note import Verifier, open_note
from sigsvc.intake.config import Intake
from sigsvc.log import events as intake_log

log = structlog.get_logger("sigsvc.handover")

ACK_HEADER = "sigsvc-batch-ack/v1"
_STATUS, _REASON = 5, 6  # line numbers (0-based) of the acknowledgement note's text


def refusal_reason(note: bytes, key: Verifier) -> str | None:
    """The reason code if ``note`` is the receiver's signed refusal, else None."""
    try:
        opened, _ = open_note(note, [key])
        lines = opened.text.decode("utf-8").split("\n")
    except (AuditError, UnicodeError):
        return None
    if len(lines) < _REASON + 1 or lines[0] != ACK_HEADER or lines[_STATUS] != "REFUSED":
        return None
    reason = lines[_REASON]
    return reason if re.fullmatch(events.KINDS["code"]["pattern"], reason) else "REFUSED"


def log_refusal(
    session: Session, intake: Intake, batch_id: str, note: bytes, key: Verifier, now: datetime
) -> int | None:
    """Append ``batch.refused`` for a verified refusal (caller commits); its leaf index."""
    reason = refusal_reason(note, key)
    if reason is None:
        return None
    event = events.batch_refused(
        at=now,
        batch=batch_id,
        reason=reason,
        acknowledgement_sha256=hashlib.sha256(note).hexdigest(),
    )
    (index,) = intake_log.append_events(session, intake.log_origin, [event])
    intake_log.cut_checkpoint_if_due(
        session, intake.log_origin, intake.log_signer, now, intake.checkpoint_interval
    )
    log.warning("batch_refused", batch=batch_id, reason=reason, leaf_index=index)
    return index
