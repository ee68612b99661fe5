"""A fixed event sequence whose export must stay byte-identical (tests/audit/data/golden.tar).

Regenerate only on a deliberate format change: ``python -m tests.audit.golden``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from audit import events
from audit.export import write_export
from audit.log import Log
from audit.note import Signer
from audit.storage import MemoryStorage

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden.tar"
ORIGIN = "sigsvc.test/log"
FIRST_KEY = Signer(ORIGIN, bytes(range(32)))
SECOND_KEY = Signer(ORIGIN, bytes(range(100, 132)))
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
H = "0123456789abcdef" * 4


def pseudonym(key: bytes, initiative: str, code: str) -> str:
    """A keyed signer pseudonym as leaves carry it (the service's is sigsvc.intake.pseudonym)."""
    return hmac.new(key, initiative.encode() + b"\x00" + code.encode(), hashlib.sha256).hexdigest()


def build() -> tuple[Log, MemoryStorage]:
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    log.checkpoint([FIRST_KEY])  # the empty tree
    log.append_events(
        [
            events.initiative_registered(
                at=T0,
                initiative="init-1",
                regime="art22_bill",
                registration="CVK-2026-1",
                text_sha256=H,
                opens=date(2026, 3, 2),
                closes=date(2027, 3, 2),
            )
        ]
    )
    for i in range(270):
        at = T0 + timedelta(seconds=i)
        if i % 9 == 4:
            event = events.signature_rejected(
                at=at,
                initiative="init-1",
                platform="p1",
                container_sha256=f"{i:064x}",
                reason="CERT_REVOKED",
                indication="INDETERMINATE",
            )
        else:
            signer = pseudonym(b"golden-key", "init-1", f"{i:06d}-00000")
            event = events.signature_accepted(
                at=at,
                initiative="init-1",
                signature=f"s{i}",
                platform="p1",
                container_sha256=f"{i:064x}",
                signer=signer,
            )
        log.append_events([event])
        if i % 100 == 99:
            log.checkpoint([FIRST_KEY])
    log.rotate_key(T0 + timedelta(hours=1), FIRST_KEY, SECOND_KEY)
    log.append_events(
        [
            events.batch_exported(
                at=T0 + timedelta(hours=2),
                batch="b1",
                initiative="init-1",
                count=240,
                manifest_sha256=H,
            )
        ]
    )
    log.checkpoint([SECOND_KEY])
    return log, storage


def export_bytes() -> bytes:
    _, storage = build()
    out = io.BytesIO()
    write_export(storage, out)
    return out.getvalue()


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    GOLDEN.write_bytes(export_bytes())
    (DATA / "golden.vkey").write_text(FIRST_KEY.verifier().vkey + "\n")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")
