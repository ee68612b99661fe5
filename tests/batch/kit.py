"""Helpers for batch tests: a log, an operator, real containers, archive rewriting."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from audit import events
from audit.cli import main as sigaudit
from audit.log import Log
from audit.note import Signer
from audit.storage import MemoryStorage
from certification.testpki import clock
from sigsvc.export.evidence import Tsa, extend_to_lt
from sigsvc.export.seal import FileSealer, seal_document
from sigsvc.export.writer import (
    BatchInfo,
    EntryRecord,
    InitiativeInfo,
    LogProofs,
    write_batch,
)

ORIGIN = "sigsvc.test/log"
ACCEPTED_AT = clock.RESPONDER_TIME + timedelta(minutes=1)  # inside the embedded OCSP window
CREATED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
INITIATIVE = InitiativeInfo(
    id="init-1",
    registration="TEST-2026/1",
    title="Grozījumi Testa likumā",
    text_sha256=hashlib.sha256(
        "TEST ONLY. Likumprojekts “Grozījumi Testa likumā”.\n".encode()
    ).hexdigest(),
    regime="art22_bill",
)
ASICE = "application/vnd.etsi.asic-e+zip"


@dataclass(frozen=True)
class Person:
    given_name: str
    surname: str
    personal_code: str


@dataclass
class Kit:
    """One service's log and operator seal, accepting containers and cutting batches."""

    tmp: Path
    sealer: FileSealer
    seal_ca: Path
    log_signer: Signer = field(default_factory=lambda: Signer.generate("sigsvc.test-log"))
    log: Log = field(default_factory=lambda: Log(MemoryStorage(), ORIGIN))
    sequence: int = 0
    last_checkpoint: bytes | None = None
    tsa: Tsa | None = None  # set: seals (and reseals) are XAdES-BASELINE-LT
    last_export: int | None = None  # leaf index of the last batch.exported (version 2)

    @property
    def vkey(self) -> str:
        return self.log_signer.verifier().vkey

    def accept(self, sid: str, container: bytes, who: Person) -> EntryRecord:
        """Log the acceptance (plus an unrelated rejection, so entries are scattered)."""
        digest = hashlib.sha256(container).hexdigest()
        event = events.signature_accepted(
            at=ACCEPTED_AT,
            initiative=INITIATIVE.id,
            signature=sid,
            platform="platform-1",
            container_sha256=digest,
            signer=hashlib.sha256(sid.encode()).hexdigest(),  # stands in for the HMAC pseudonym
        )
        noise = events.signature_rejected(
            at=ACCEPTED_AT,
            initiative=INITIATIVE.id,
            platform="platform-1",
            container_sha256=hashlib.sha256(b"x" + container).hexdigest(),
            reason="SIGNATURE_INVALID",
            indication="TOTAL_FAILED",
        )
        index = self.log.append_events([event, noise])[0]
        return EntryRecord(
            signature=sid,
            leaf_index=index,
            leaf=event.leaf_data(),
            container=container,
            media_type=ASICE,
            given_name=who.given_name,
            surname=who.surname,
            personal_code=who.personal_code,
            signing_date=date(2026, 3, 2),
        )

    def batch(
        self,
        records: Sequence[EntryRecord],
        name: str | None = None,
        *,
        range_start: int | None = None,
    ) -> Path:
        """Cut a checkpoint and write the next batch, chained to the previous one.

        ``range_start`` set: a version 2 batch (needs ``tsa``), then logged as batch.exported
        like the service does, so the initiative's next range starts after it."""
        note = self.log.checkpoint([self.log_signer])
        previous, proof = self.last_checkpoint, []
        if previous is not None:
            old_size = int(previous.split(b"\n")[1])
            proof = self.log.consistency_proof(old_size, self.log.size)
        self.sequence += 1
        path = self.tmp / (name or f"batch-{self.sequence}.asice")
        write_batch(
            path,
            BatchInfo(f"batch-{self.sequence}", self.sequence, CREATED, INITIATIVE),
            iter(records),
            LogProofs(
                ORIGIN,
                self.vkey,
                note,
                self.log.storage,
                previous,
                proof,
                range_start=range_start,
                leaves=self.log.storage.entries if range_start is not None else None,
            ),
            self.sealer,
            self.tsa if range_start is not None else None,
        )
        self.last_checkpoint = note
        if range_start is not None:
            manifest = hashlib.sha256(members(path)["manifest.json"]).hexdigest()
            (self.last_export,) = self.log.append_events(
                [
                    events.batch_exported(
                        at=ACCEPTED_AT,
                        batch=f"batch-{self.sequence}",
                        initiative=INITIATIVE.id,
                        count=len(records),
                        manifest_sha256=manifest,
                    )
                ]
            )
        return path

    def verify(self, batch: Path, *extra: str) -> tuple[int, dict[str, Any]]:
        """Run ``sigaudit verify-batch --json`` and return (exit code, JSON)."""
        out = io.StringIO()
        from contextlib import redirect_stdout

        with redirect_stdout(out):
            code = sigaudit(
                [
                    "verify-batch",
                    str(batch),
                    "--key",
                    self.vkey,
                    "--seal-anchor",
                    str(self.seal_ca),
                    "--json",
                    *extra,
                ]
            )
        return code, json.loads(out.getvalue())


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """Copy the batch with its members changed (mimetype kept first and stored)."""
    new = change(members(src))
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), new.pop("mimetype"))
        for name, data in new.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return dst


def reseal(kit: Kit, src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The operator itself changes the manifest and seals it again (a lying operator)."""

    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(files["manifest.json"])
        edit(manifest)
        data = json.dumps(manifest, ensure_ascii=False).encode()
        files["manifest.json"] = data
        seal = seal_document(
            kit.sealer,
            data_name="manifest.json",
            data_sha256=hashlib.sha256(data).digest(),
            signing_time=CREATED,
        )
        files["META-INF/signatures0.xml"] = seal if kit.tsa is None else extend_to_lt(seal, kit.tsa)
        if "log/checkpoint" in files:
            files["log/checkpoint"] = manifest["log"]["checkpoint"].encode()
        return files

    return rewrite(src, dst, change)
