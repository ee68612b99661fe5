"""A service-produced batch, tampered on the way or by a lying operator, is refused by
``sigaudit verify-batch`` and by the reference receiver with the same precise reason.

The tamper kinds and their reasons are the building blocks' (tests/batch/tampers.py); here they
run against the artefact the service wrote from real intake, so the service's manifest, log
proofs and seal are what the verifiers check."""

from __future__ import annotations

from pathlib import Path

import requests
from flask import Flask

from audit.note import Signer
from sigsvc.export.evidence import Tsa
from sigsvc.export.seal import FileSealer
from tests.batch.kit import Kit
from tests.batch.tampers import TAMPERS
from tests.export.conftest import TSA_URL, verify_batch
from tests.export.test_export_handover import _artefact, _create
from tests.signatures.conftest import post

KINDS = (
    "drop-entry",  # entry removed, count kept
    "drop-entry-fix-count",  # entry removed from the sealed manifest, its file left behind
    "add-container",  # a file no entry lists
    "alter-container",  # one byte of a signer's container
    "reorder-entries",
    "swap-checkpoint",  # a checkpoint other than the sealed one
    "edit-manifest",  # manifest changed after sealing
    "leaf-changed",  # the logged leaf rewritten by the operator
)
# Version 2 compares each entry's leaf with the range's leaf at its index before any proof.
V2_REASONS = {"leaf-changed": "LEAF_MISMATCH"}


def _kit(app: Flask, seal_files: tuple[Path, Path, Path], tmp_path: Path) -> Kit:
    signer = Signer.from_skey(Path(app.config["LOG_KEY_FILE"]).read_text().strip())
    sealer = FileSealer.from_files(seal_files[0], seal_files[1])
    return Kit(tmp_path, sealer, seal_files[2], log_signer=signer, tsa=Tsa(TSA_URL))


def test_tampered_service_batch_is_refused(
    app, client, initiative, container, admin_headers, receiver, seal_files, tmp_path
):
    for signer in ("valid_rsa", "valid_p384", "no_prefix"):
        assert post(client, initiative, container(signer)).status_code == 201
    batch = _create(client, initiative, admin_headers)
    original = _artefact(app, batch["id"])
    assert verify_batch(app, seal_files[2], original)[0] == 0
    kit = _kit(app, seal_files, tmp_path)
    for name in KINDS:
        tamper, reason, _ = TAMPERS[name]
        reason = V2_REASONS.get(name, reason)
        bad = tamper(kit, original, tmp_path / f"{name}.asice")
        code, report = verify_batch(app, seal_files[2], bad)
        assert (code, report["error"]["reason"]) == (1, reason), (name, report)
        answer = requests.post(
            receiver.url + "/batches",
            data=bad.read_bytes(),
            headers={"Idempotency-Key": f"tampered-{name}"},
            timeout=30,
        )
        assert (answer.status_code, answer.json()["reason"]) == (422, reason), name
    # The untouched batch is still accepted after all those refusals.
    accepted = requests.post(
        receiver.url + "/batches",
        data=original.read_bytes(),
        headers={"Idempotency-Key": batch["id"]},
        timeout=30,
    )
    assert accepted.status_code == 201
