"""Signature intake through the HTTP stack on SQLite and PostgreSQL, with the test PKI."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import cli as sigaudit
from audit.events import parse_leaf
from audit.note import Verifier
from audit.receipt import verify_receipt
from certification.testpki import form_for, make_edoc
from certification.testpki.sign import FORM_FILENAME
from crypto.form import FormKind
from sigsvc import credentials, db, registry, services
from sigsvc.db.models.intake import Signature
from tests.service.conftest import assert_error, assert_schema
from tests.signatures.conftest import LOG_ORIGIN, post


def _vkey(client) -> str:
    ready = client.get("/readyz").get_json()
    assert ready["intake"]["configured"] is True, ready
    return ready["intake"]["log_key"]


def _counts(client, initiative):
    return client.get(f"/v1/public/initiatives/{initiative['id']}").get_json()["counts"]


def _leaves(client):
    checkpoint = client.get("/v1/log/checkpoint").get_data(as_text=True)
    size = int(checkpoint.split("\n")[1])
    body = client.get(f"/v1/log/entries?start=0&end={size}").get_json()
    return [parse_leaf(base64.b64decode(e)) for e in body["entries"]]


def test_accepted_signature_gets_a_receipt_that_verifies_offline(client, initiative, container):
    response = post(client, initiative, container("valid_rsa"))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert_schema("signature", body)
    assert body["status"] == "accepted" and body["eligibility"] == "age_checked"
    status = client.get(
        f"/v1/signatures/{body['id']}", headers={"Authorization": f"Bearer {initiative['key']}"}
    )
    assert status.status_code == 200
    doc = status.get_json()
    assert_schema("signature", doc)
    verified = verify_receipt(
        doc["receipt"].encode(), [Verifier.from_vkey(_vkey(client))], LOG_ORIGIN
    )
    event = parse_leaf(verified.leaf_data)
    assert event.type == "signature.accepted"
    assert event.fields["signature"] == body["id"]
    assert event.fields["container_sha256"] == body["container_sha256"]
    assert _counts(client, initiative) == {
        "accepted": 1,
        "withdrawn": 0,
        "rejected": 0,
        "rejected_by_reason": {},
    }


def test_new_format_code_is_left_for_cvk(client, initiative, container):
    body = post(client, initiative, container("valid_p384")).get_json()
    assert body["eligibility"] == "for_cvk"


@pytest.mark.parametrize(
    ("signer", "options", "status", "reason"),
    [
        ("revoked", {}, 422, "CERT_REVOKED"),
        ("untrusted", {}, 422, "UNTRUSTED_CHAIN"),
        ("underage", {}, 422, "UNDERAGE"),
        ("not_qualified", {}, 422, "NOT_QUALIFIED"),
        ("valid_p384", {"level": "B"}, 422, "NO_TIMESTAMP"),
        ("bad_code", {}, 422, "INVALID_PERSONAL_CODE"),
        ("ocsp_down", {"level": "T"}, 503, "REVOCATION_UNAVAILABLE"),
    ],
)
def test_each_rejection_has_one_reason_is_logged_and_counted(
    client, initiative, container, signer, options, status, reason
):
    edoc = container(signer, **options)
    response = post(client, initiative, edoc, key="k1")
    assert_error(response, status, reason)
    assert _counts(client, initiative)["rejected_by_reason"] == {reason: 1}
    (leaf,) = [e for e in _leaves(client) if e.type.startswith("signature.")]
    assert leaf.type == "signature.rejected" and leaf.fields["reason"] == reason
    again = post(client, initiative, edoc, key="k1")
    if reason == "REVOCATION_UNAVAILABLE":  # retryable: not remembered, the retry verifies again
        assert again.headers["Retry-After"]
        assert "Idempotent-Replayed" not in again.headers
        assert _counts(client, initiative)["rejected"] == 2
    else:
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_data() == response.get_data()
        assert _counts(client, initiative)["rejected"] == 1


def test_document_for_another_day_and_garbage(client, initiative):
    from datetime import date

    wrong_day = make_edoc(
        form_for("valid_p384", signing_date=date(2026, 2, 1)),
        FORM_FILENAME,
        "valid_p384",
        level="LT",
    )
    assert_error(post(client, initiative, wrong_day), 422, "DOCUMENT_MISMATCH")
    assert_error(post(client, initiative, b"PK\x03\x04garbage"), 422, "MALFORMED_CONTAINER")
    assert_error(
        post(client, initiative, b"%PDF-1.7 nonsense", media="application/pdf"),
        422,
        "MALFORMED_CONTAINER",
    )


def test_request_gates(client, initiative, container, app):
    edoc = container("valid_p384")
    headers = {
        "Authorization": f"Bearer {initiative['key']}",
        "Content-Type": "application/vnd.etsi.asic-e+zip",
    }
    url = f"/v1/initiatives/{initiative['id']}/signatures"
    assert_error(client.post(url, data=edoc, headers=headers), 400, "IDEMPOTENCY_KEY_MISSING")
    assert_error(
        post(client, initiative, edoc, media="application/json"), 415, "UNSUPPORTED_MEDIA_TYPE"
    )
    big = b"PK\x03\x04" + b"0" * app.config["MAX_SIGNATURE_BYTES"]
    assert_error(post(client, initiative, big), 413, "TOO_LARGE")
    assert _counts(client, initiative)["rejected"] == 0


def test_duplicate_first_valid_wins_and_attempt_is_logged(client, initiative, container):
    first = post(client, initiative, container("valid_rsa"))
    assert first.status_code == 201
    second = post(client, initiative, container("valid_rsa", digest="sha384"))  # other bytes
    assert_error(second, 409, "DUPLICATE")
    counts = _counts(client, initiative)
    assert counts["accepted"] == 1 and counts["rejected_by_reason"] == {"DUPLICATE": 1}
    types = [e.type for e in _leaves(client) if e.type.startswith("signature.")]
    assert types == ["signature.accepted", "signature.rejected"]


def test_idempotent_retry_and_key_reuse(client, initiative, container):
    first = post(client, initiative, container("valid_p384"), key="same")
    retry = post(client, initiative, container("valid_p384"), key="same")
    assert retry.status_code == 201 and retry.get_data() == first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert_error(
        post(client, initiative, container("valid_rsa"), key="same"), 409, "IDEMPOTENCY_KEY_REUSED"
    )
    assert _counts(client, initiative)["accepted"] == 1


def _withdrawal(signer: str) -> bytes:
    return make_edoc(form_for(signer, kind=FormKind.WITHDRAWAL), FORM_FILENAME, signer, level="LT")


def test_withdrawal_before_and_after_export(client, initiative, container, app):
    sid = post(client, initiative, container("valid_rsa")).get_json()["id"]
    assert_error(
        post(client, initiative, container("valid_rsa"), path="withdrawals"),
        422,
        "DOCUMENT_MISMATCH",
    )
    assert_error(
        post(client, initiative, _withdrawal("valid_p384"), path="withdrawals"),
        404,
        "SIGNATURE_NOT_FOUND",
    )
    done = post(client, initiative, _withdrawal("valid_rsa"), path="withdrawals")
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "withdrawn" and done.get_json()["id"] == sid
    assert_error(
        post(client, initiative, _withdrawal("valid_rsa"), path="withdrawals"),
        409,
        "ALREADY_WITHDRAWN",
    )
    counts = _counts(client, initiative)
    assert (counts["accepted"], counts["withdrawn"]) == (0, 1)
    status = client.get(
        f"/v1/signatures/{sid}", headers={"Authorization": f"Bearer {initiative['key']}"}
    ).get_json()
    leaf = verify_receipt(
        status["withdrawal_receipt"].encode(), [Verifier.from_vkey(_vkey(client))]
    ).leaf_data
    assert parse_leaf(leaf).type == "signature.withdrawn"

    # After export (issue 6 sets batch_id) a withdrawal is refused.
    post(client, initiative, container("valid_p384"))
    with db.session_scope(app) as session:
        session.execute(
            sa.update(Signature).where(Signature.status == "accepted").values(batch_id="batch-1")
        )
    assert_error(
        post(client, initiative, _withdrawal("valid_p384"), path="withdrawals"),
        409,
        "ALREADY_EXPORTED",
    )


def test_wrong_platform_and_admin_are_refused(client, initiative, container, app, admin_headers):
    with db.session_scope(app) as session:
        other = registry.register_initiative(
            session,
            services.log_service(app),
            registry.NewInitiative(
                regime=registry.Regime.ART22_BILL,
                registration_number="OTHER-1",
                title="Cita",
                full_text="x\n",
                starts_on=registry.date(2026, 1, 1),
                ends_on=registry.date(2026, 12, 31),
            ),
        )
        _, other_key = credentials.create_platform(
            session, services.log_service(app), "platform-b", [other.id]
        )
    edoc = container("valid_p384")
    assert_error(post(client, initiative, edoc, token=other_key), 403, "FORBIDDEN")
    assert_error(
        post(client, initiative, edoc, token=admin_headers["Authorization"][7:]), 403, "FORBIDDEN"
    )
    sid = post(client, initiative, edoc).get_json()["id"]
    assert_error(
        client.get(f"/v1/signatures/{sid}", headers={"Authorization": f"Bearer {other_key}"}),
        403,
        "FORBIDDEN",
    )
    assert _counts(client, initiative)["accepted"] == 1


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (b"", "UNSUPPORTED_FORMAT"),
        (b"not a container", "UNSUPPORTED_FORMAT"),
        (b"PK\x03\x04 truncated zip", "MALFORMED_CONTAINER"),
    ],
)
def test_a_body_that_is_no_signature_is_not_remembered(
    client, initiative, container, first: bytes, reason: str
):
    """The platform's retry with the real container under the same key is verified (not 409)."""
    assert_error(post(client, initiative, first, key="retry-1"), 422, reason)
    retried = post(client, initiative, container("valid_p384"), key="retry-1")
    assert retried.status_code == 201, retried.get_data(as_text=True)
    again = post(client, initiative, container("valid_p384"), key="retry-1")
    assert again.headers.get("Idempotent-Replayed") == "true"  # a verified answer is final


def test_a_verified_rejection_is_remembered(client, initiative, container):
    expired = post(client, initiative, container("expired"), key="final-1")
    assert expired.status_code == 422
    other = post(client, initiative, container("valid_p384"), key="final-1")
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


def test_status_and_receipt_only_for_the_submitting_platform(
    app, client, initiative, container, admin_headers
):
    """A second platform on the same initiative cannot read the first one's signature."""
    with db.session_scope(app) as session:
        _, same_initiative_key = credentials.create_platform(
            session, services.log_service(app), "platform-c", [uuid.UUID(initiative["id"])]
        )
    sid = post(client, initiative, container("valid_p384")).get_json()["id"]
    other = client.get(
        f"/v1/signatures/{sid}", headers={"Authorization": f"Bearer {same_initiative_key}"}
    )
    assert_error(other, 404, "NOT_FOUND")
    assert "receipt" not in other.get_data(as_text=True)
    mine = client.get(
        f"/v1/signatures/{sid}", headers={"Authorization": f"Bearer {initiative['key']}"}
    )
    assert mine.status_code == 200 and mine.get_json()["id"] == sid
    assert client.get(f"/v1/signatures/{sid}", headers=admin_headers).status_code == 200


@pytest.mark.parametrize("intake_overrides", [{"RATE_PLATFORM": "0.01/2"}])
def test_platform_rate_limit(client, initiative, container, intake_overrides):
    assert post(client, initiative, container("valid_p384")).status_code == 201
    assert_error(post(client, initiative, container("revoked")), 422, "CERT_REVOKED")
    limited = post(client, initiative, container("valid_rsa"))
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("intake_overrides", [{"RATE_SIGNER": "0.01/1"}])
def test_signer_rate_limit(client, initiative, container, intake_overrides):
    assert post(client, initiative, container("valid_p384")).status_code == 201
    assert_error(
        post(client, initiative, container("valid_p384", digest="sha384")), 429, "RATE_LIMITED"
    )


def test_closed_initiative_refuses(client, initiative, container, app):
    with db.session_scope(app) as session:
        registry.close_initiative(session, services.log_service(app), uuid.UUID(initiative["id"]))
    assert_error(post(client, initiative, container("valid_p384")), 409, "INITIATIVE_CLOSED")
    assert _counts(client, initiative)["rejected_by_reason"] == {"INITIATIVE_CLOSED": 1}


def test_database_holds_no_personal_data(client, initiative, container, app, database_url):
    edoc = container("valid_rsa")
    assert post(client, initiative, edoc).status_code == 201
    assert post(client, initiative, container("underage")).status_code == 422
    secrets = [
        "140785-11239",
        "14078511239",
        "JĀNIS",
        "BĒRZIŅŠ",
        "Jānis",
        "Bērziņš",
        "201109-23219",
        "20110923219",
    ]
    dumped: list[bytes] = []
    engine = db.engine_of(app)
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    dumped.append(value if isinstance(value, bytes) else str(value).encode())
    if database_url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        dumped.append(Path(database_url.removeprefix("sqlite:///")).read_bytes())
    blob = b"\n".join(dumped)
    assert edoc not in blob
    for secret in secrets:
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in blob, secret


def test_log_api_and_export_verify_with_sigaudit(client, initiative, container, tmp_path, capsys):
    for signer in ("valid_rsa", "valid_p384", "revoked"):
        post(client, initiative, container(signer))
    note = client.get("/v1/log/checkpoint")
    assert note.status_code == 200
    size = int(note.get_data(as_text=True).split("\n")[1])
    assert size >= 4  # initiative.registered + 3 signature events
    proof = client.get(f"/v1/log/proofs/inclusion?index=1&size={size}").get_json()
    assert_schema("log_proof", proof)
    cons = client.get(f"/v1/log/proofs/consistency?old=1&new={size}").get_json()
    assert_schema("log_proof", cons)
    assert_error(client.get("/v1/log/entries?start=0&end=99999"), 400, "INVALID_PARAMETER")
    assert_error(client.get("/v1/log/proofs/inclusion?index=+1&size=2"), 400, "INVALID_PARAMETER")
    export = client.get("/v1/log/export")
    assert export.status_code == 200
    path = tmp_path / "log.tar"
    path.write_bytes(export.get_data())
    export.close()
    capsys.readouterr()
    assert sigaudit.main(["verify", str(path), "--key", _vkey(client), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report.get("ok", True) is not False
