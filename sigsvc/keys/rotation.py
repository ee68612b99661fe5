"""Log key rotation (``sigsvc log rotate-key``): the old key co-signs the switch to the new one.

``key.rotated`` (purpose ``LOG``) names the old and new vkeys and is followed at once by a
checkpoint signed by both keys, in one transaction under the log lock, so an auditor holding
only the old key learns the new one from the log itself (docs/audit-export.md). The new key is
generated inside the token (non-extractable) or written as a new key file (development).
Every process signing checkpoints must be restarted with the new key before it cuts the next
checkpoint: stop the service, rotate, change the configuration, start it (README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from audit.note import NoteSigner, Signer
from sigsvc.keys.signers import TokenNoteSigner, generate_ed25519
from sigsvc.keys.token import Token
from sigsvc.log.service import LogService


class RotationError(Exception):
    """The rotation cannot be made (nothing was logged)."""


@dataclass(frozen=True)
class Rotation:
    old_vkey: str
    new_vkey: str
    checkpoint: bytes  # signed by both keys
    event_index: int


def token_key(token: Token, label: str, name: str, *, generate: bool) -> TokenNoteSigner:
    """The new key in the token: generated now (``generate``) or an existing one by label."""
    if generate:
        generate_ed25519(token, label)
    return TokenNoteSigner(token, label, name)


def file_key(path: Path, name: str) -> Signer:
    """A new Ed25519 key written to ``path`` (mode 0600; an existing file is refused)."""
    signer = Signer.generate(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise RotationError(f"{path} exists; give a new file") from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(signer.skey + "\n")
    return signer


def rotate(
    session: Session, log: LogService, new: NoteSigner, at: datetime | None = None
) -> Rotation:
    """Log the rotation and the co-signed checkpoint in the caller's transaction."""
    old = log.signer
    if old is None:
        raise RotationError("no current log key to rotate from")
    old_vkey, new_vkey = old.verifier().vkey, new.verifier().vkey
    if old_vkey == new_vkey or old.verifier().public_key == new.verifier().public_key:
        raise RotationError("the new key is the current key")
    note, index = log.rotate_key(session, new, at)
    return Rotation(old_vkey, new_vkey, note, index)
