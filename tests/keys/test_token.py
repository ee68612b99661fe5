"""Keys in a real SoftHSM2 token: checkpoints and batch seals made through PKCS#11 verify
offline exactly as key-file ones do; /readyz names the source; misconfiguration is refused."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from audit import cli as sigaudit
from audit.note import Signer, open_note
from certification.testpki import softhsm
from crypto.seal import verify_seal
from sigsvc import services
from sigsvc.export.seal import seal_document
from sigsvc.keys import config as keyconfig
from sigsvc.keys.signers import TokenNoteSigner, TokenSealer, generate_ed25519
from sigsvc.keys.token import TokenConfig, TokenError, token_for
from tests.keys.conftest import CERTS, SEAL_LABEL, VALIDATION_TIME
from tests.service.conftest import assert_schema
from tests.signatures.conftest import post


def _token(hsm: softhsm.SoftHsm) -> Any:
    return token_for(TokenConfig(hsm.module, hsm.token_label, str(hsm.pin_file)))


def _vkey(app: Flask) -> str:
    return services.get(app).log.signer.verifier().vkey


def _export(client: Any, path: Path) -> Path:
    response = client.get("/v1/log/export")
    assert response.status_code == 200
    path.write_bytes(response.get_data())
    response.close()
    return path


def test_checkpoints_signed_in_the_token_verify_offline(
    app, client, initiative, container, log_label, hsm, tmp_path
):
    ready = client.get("/readyz").get_json()
    assert_schema("health", ready)
    source = ready["intake"]["log_key_source"]
    assert source == {
        "source": "pkcs11",
        "module": hsm.module,
        "token": hsm.token_label,
        "label": log_label,
    }
    assert ready["intake"]["batch_seal_source"]["source"] == "pkcs11"
    assert post(client, initiative, container("valid_p384")).status_code == 201
    note = client.get("/v1/log/checkpoint").get_data()
    vkey = ready["intake"]["log_key"]
    from audit.note import Verifier

    # The token's key signed it: its public key, read from the token, verifies the note.
    _, verified = open_note(note, [Verifier.from_vkey(vkey)])
    assert verified[0].public_key == TokenNoteSigner(_token(hsm), log_label, "x").public_key
    export = _export(client, tmp_path / "log.tar")
    assert sigaudit.main(["verify", str(export), "--key", vkey, "--quiet"]) == 0
    other = Signer.generate(verified[0].name).verifier().vkey
    assert sigaudit.main(["verify", str(export), "--key", other, "--quiet"]) == 1


def test_batch_sealed_in_the_token_verifies_offline(
    app, client, initiative, container, admin_headers, tmp_path
):
    for signer in ("valid_rsa", "valid_p384"):
        assert post(client, initiative, container(signer)).status_code == 201
    response = client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    from sigsvc import db
    from sigsvc.db.models.batches import Batch

    with db.session_scope(app) as session:
        path = Path(session.get(Batch, response.get_json()["id"]).artefact_path)
    out = io.StringIO()
    with redirect_stdout(out):
        code = sigaudit.main(
            [
                "verify-batch",
                str(path),
                "--key",
                _vkey(app),
                "--seal-anchor",
                str(CERTS / "root.pem"),
                "--at",
                VALIDATION_TIME,
                "--json",
            ]
        )
    report = json.loads(out.getvalue())
    assert code == 0, report
    assert report["seal"].startswith("CN=TEST sigsvc batch seal")
    assert report["seal_evidence"]["level"] == "XAdES-BASELINE-LT"
    assert report["range"]["complete"] and report["count"] == 2


def test_token_seal_equals_what_crypto_verifies(hsm, seal_chain):
    """A seal made through CKM_ECDSA verifies; one over other bytes does not."""
    sealer = TokenSealer.load(_token(hsm), SEAL_LABEL, seal_chain)
    data = b'{"batch": 1}'
    xml = seal_document(
        sealer,
        data_name="manifest.json",
        data_sha256=hashlib.sha256(data).digest(),
        signing_time=datetime(2026, 3, 3, tzinfo=UTC),
    )
    root = (CERTS / "root.pem").read_bytes()
    assert verify_seal(xml, "manifest.json", data, [root]).subject.startswith("CN=TEST sigsvc")
    from crypto.seal import SealInvalid

    with pytest.raises(SealInvalid):
        verify_seal(xml, "manifest.json", data + b" ", [root])


def test_seal_certificate_must_match_the_token_key(hsm, tmp_path):
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes((CERTS / "valid_p384.pem").read_bytes())
    with pytest.raises(TokenError, match="not the certificate of key"):
        TokenSealer.load(_token(hsm), SEAL_LABEL, wrong)


def test_key_configuration_is_refused_when_ambiguous_or_absent(hsm, tmp_path):
    key_file = tmp_path / "log.key"
    key_file.write_text(Signer.generate("x").skey)
    both = {**hsm.env(), "SIGSVC_LOG_KEY_LABEL": "any", "SIGSVC_LOG_KEY_FILE": str(key_file)}
    with pytest.raises(keyconfig.KeyConfigError, match="only one"):
        keyconfig.log_signer(both)
    with pytest.raises(keyconfig.KeyConfigError, match="no public_key labelled"):
        keyconfig.log_signer({**hsm.env(), "SIGSVC_LOG_KEY_LABEL": "absent-key"})
    with pytest.raises(keyconfig.KeyConfigError, match="incomplete"):
        keyconfig.log_signer({"SIGSVC_PKCS11_MODULE": hsm.module, "SIGSVC_LOG_KEY_LABEL": "x"})
    with pytest.raises(keyconfig.KeyConfigError, match="not an Edwards"):
        keyconfig.log_signer({**hsm.env(), "SIGSVC_LOG_KEY_LABEL": SEAL_LABEL})
    _signer, source = keyconfig.log_signer({"SIGSVC_LOG_KEY_FILE": str(key_file)}) or (None, None)
    assert source is not None and source.describe() == {"source": "file", "path": str(key_file)}


def test_generated_key_is_not_extractable_and_labels_are_unique(hsm):
    from pkcs11 import Attribute, ObjectClass

    label = f"log-{uuid.uuid4().hex[:8]}"
    token = _token(hsm)
    generate_ed25519(token, label)
    with pytest.raises(TokenError, match="already holds"):
        generate_ed25519(token, label)

    def attributes(session: Any) -> tuple[bool, bool]:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
        return key[Attribute.EXTRACTABLE], key[Attribute.SENSITIVE]

    assert token.call(attributes) == (False, True)
