"""Changing who may act on the service.

Minimal until issue 14's credential management lands here (same module, same function): the
console revokes a platform key with it. The platform's key stops working at once (auth only
accepts rows without `revoked_at`); its signatures stay as they are.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from sigsvc.db.models import Platform, utcnow
from sigsvc.refusal import Refusal


def revoke_platform(session: Session, platform_id: uuid.UUID) -> Platform:
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise Refusal("NOT_FOUND", "no such platform")
    if platform.revoked_at is not None:
        raise Refusal("ALREADY_REVOKED", "the platform is revoked")
    platform.revoked_at = utcnow()
    session.flush()
    return platform
