"""Batch export through the service: the intake fixtures (real test-PKI containers, local
responders, SQLite and PostgreSQL) plus an operator seal and the reference receiver."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from audit.cli import main as sigaudit
from audit.note import Signer
from certification.receiver import ReceiverConfig, serve_receiver
from certification.sealpki import operator_seal_files
from certification.testpki import pki
from tests.signatures.conftest import (  # noqa: F401 (fixtures)
    _close_verifier_event_loop,
    admin_headers,
    app,
    client,
    container,
    initiative,
    responders,
)

SIGNERS = ("valid_rsa", "valid_p384", "no_prefix")


TSA_URL = f"{pki.BASE_URL}/{pki.ARCH.value}/tsa/tsa"  # the test PKI's TSA (responders fixture)
# Seal evidence is judged at this validation time (the test PKI's clock, never today's date).
VALIDATION_TIME = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="session")
def seal_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(key, certificate chain, anchor) of the operator seal of the test PKI: its OCSP
    responder answers for it, so the service can make XAdES-BASELINE-LT seals."""
    return operator_seal_files(tmp_path_factory.mktemp("seal"))


@pytest.fixture(scope="session")
def receiver_signer() -> Signer:
    return Signer.generate("cvk.test-receiver")


@pytest.fixture
def intake_overrides(
    seal_files: tuple[Path, Path, Path], receiver_signer: Signer, tmp_path: Path
) -> dict[str, Any]:
    return {
        "BATCH_DIR": str(tmp_path / "batches"),
        "BATCH_SEAL": {
            "SIGSVC_BATCH_SEAL_KEY": str(seal_files[0]),
            "SIGSVC_BATCH_SEAL_CERT": str(seal_files[1]),
            "SIGSVC_BATCH_TSA_URL": TSA_URL,
        },
        "RECEIVER_KEY": receiver_signer.verifier().vkey,
        "RETENTION_DAYS": 30,
    }


def log_vkey(application: Flask) -> str:
    skey = Path(application.config["LOG_KEY_FILE"]).read_text().strip()
    return Signer.from_skey(skey).verifier().vkey


@dataclass
class Running:
    url: str
    db: Path


@pytest.fixture
def receiver(
    app: Flask,  # noqa: F811 (the imported fixture)
    receiver_signer: Signer,
    seal_files: tuple[Path, Path, Path],
    tmp_path: Path,
) -> Iterator[Running]:
    """The reference receiver (CVK stand-in) on 127.0.0.1, trusting this service's log key
    and seal; the app pushes to it."""
    from audit.note import Verifier

    config = ReceiverConfig(
        name="cvk.test-receiver",
        signer=receiver_signer,
        log_keys=[Verifier.from_vkey(log_vkey(app))],
        seal_anchors=[seal_files[2].read_bytes()],
        db_path=tmp_path / "receiver.sqlite",
        clock=lambda: datetime.fromisoformat(VALIDATION_TIME),
    )
    with serve_receiver(config) as url:
        app.config["HANDOVER_URL"] = f"{url}/batches"
        yield Running(url, config.db_path)


def verify_batch(
    application: Flask, anchor: Path, batch: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    """``sigaudit verify-batch --json`` as an auditor runs it: (exit code, report)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = sigaudit(
            [
                "verify-batch",
                str(batch),
                "--key",
                log_vkey(application),
                "--seal-anchor",
                str(anchor),
                "--at",
                VALIDATION_TIME,
                "--json",
                *extra,
            ]
        )
    return code, json.loads(out.getvalue())
