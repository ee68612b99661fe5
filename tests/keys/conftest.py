"""A real SoftHSM2 token for the whole test session (Debian ``softhsm2``; `.ci/run` installs
it). Without it the token tests are skipped locally and fail under CI=true."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certification.testpki import softhsm
from certification.testpki.pki import HERE
from tests.export.conftest import TSA_URL, VALIDATION_TIME
from tests.signatures.conftest import (  # noqa: F401 (fixtures)
    _close_verifier_event_loop,
    admin_headers,
    app,
    client,
    container,
    initiative,
    responders,
)

CERTS = HERE / "generated" / "certs"
SEAL_LABEL = "operator-seal-2025"
__all__ = ["VALIDATION_TIME"]


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[softhsm.SoftHsm]:
    if softhsm.module_path() is None:
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 is missing under CI: .ci/run must install softhsm2")
        pytest.skip("SoftHSM2 not installed (apt-get install softhsm2)")
    previous = os.environ.get("SOFTHSM2_CONF")
    token = softhsm.start(tmp_path_factory.mktemp("softhsm"))
    # The operator's TEST-ONLY seal key, imported once (the responders know its certificate).
    key = (HERE / "test-only-keys" / "TEST-ONLY-operator_seal.key.pem").read_bytes()
    softhsm.import_private_key(token, SEAL_LABEL, key)
    yield token
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def seal_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator seal certificate followed by its issuing CA (PEM)."""
    path = tmp_path_factory.mktemp("seal-chain") / "operator_seal.chain.pem"
    path.write_bytes((CERTS / "operator_seal.pem").read_bytes() + (CERTS / "ica.pem").read_bytes())
    return path


@pytest.fixture
def log_label() -> str:
    return f"log-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def intake_overrides(
    hsm: softhsm.SoftHsm, seal_chain: Path, log_label: str, tmp_path: Path
) -> dict[str, Any]:
    """The app signs checkpoints with a fresh Ed25519 token key and seals with the token."""
    from sigsvc.keys.signers import generate_ed25519
    from sigsvc.keys.token import TokenConfig, token_for

    generate_ed25519(
        token_for(TokenConfig(hsm.module, hsm.token_label, str(hsm.pin_file))), log_label
    )
    return {
        "LOG_KEY_FILE": "",
        "TOKEN_KEYS": {
            **hsm.env(),
            "SIGSVC_LOG_KEY_LABEL": log_label,
            "SIGSVC_BATCH_SEAL_KEY_LABEL": SEAL_LABEL,
        },
        "BATCH_DIR": str(tmp_path / "batches"),
        "BATCH_SEAL": {"SIGSVC_BATCH_SEAL_CERT": str(seal_chain), "SIGSVC_BATCH_TSA_URL": TSA_URL},
    }
