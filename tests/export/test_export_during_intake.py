"""Batch export does not stop intake: the batch is written outside the log lock, and what
changes meanwhile (a new signature, a withdrawal, a crashed earlier export) is handled."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from certification.testpki import form_for, make_edoc
from certification.testpki.sign import FORM_FILENAME
from crypto._internal import chain
from crypto.form import FormKind
from sigsvc import db
from sigsvc.db.models.intake import Signature
from sigsvc.export import batches
from tests.export.conftest import verify_batch
from tests.service.conftest import assert_error
from tests.signatures.conftest import post
from tests.signatures.live import register_initiatives


def _export_with(monkeypatch: Any, client: Any, initiative: dict, admin: dict, during: Any) -> Any:
    """POST .../batches with `during()` run while the batch file is being written."""
    write = batches.write_batch

    def request() -> None:
        try:
            during()
        finally:  # crypto keeps an asyncio loop per verifying thread; this thread ends here
            loop = getattr(chain._LOCAL, "loop", None)
            if loop is not None:
                loop.close()

    def writing(*args: Any, **kwargs: Any) -> Any:
        other = threading.Thread(target=request)  # another request: its own thread and context
        other.start()
        other.join(timeout=60)
        assert not other.is_alive(), "blocked by the export"
        return write(*args, **kwargs)

    monkeypatch.setattr(batches, "write_batch", writing)
    return client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin)


def test_intake_goes_on_while_a_batch_is_written(
    app, client, initiative, container, admin_headers, monkeypatch, seal_files
):
    """Another initiative's signature posted while the batch is written is accepted at once
    (the old export held the log lock throughout: this post waited for it)."""
    assert post(client, initiative, container("valid_rsa")).status_code == 201
    other = register_initiatives(app, 1)
    body = container("valid_p384", initiative=other.fields[0])
    target = {"id": other.ids[0], "key": other.key}
    during: list[int] = []
    created = _export_with(
        monkeypatch,
        client,
        initiative,
        admin_headers,
        lambda: during.append(post(client, target, body).status_code),
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert during == [201]
    assert created.get_json()["count"] == 1
    code, report = verify_batch(app, seal_files[2], Path(_path(app, created.get_json()["id"])))
    assert code == 0, report


def test_a_signature_of_the_same_initiative_meanwhile_goes_into_the_batch(
    app, client, initiative, container, admin_headers, monkeypatch, seal_files
):
    """Batch format v2 allows no acceptance of the initiative between a batch's checkpoint and
    its batch.exported entry: the batch is written again and holds it; the chain stays
    complete (the next export has nothing left)."""
    assert post(client, initiative, container("valid_rsa")).status_code == 201
    during: list[int] = []
    created = _export_with(
        monkeypatch,
        client,
        initiative,
        admin_headers,
        lambda: during.append(post(client, initiative, container("valid_p384")).status_code),
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert during[0] == 201 and set(during[1:]) <= {409}  # later writings: the same person
    assert created.get_json()["count"] == 2
    code, report = verify_batch(app, seal_files[2], Path(_path(app, created.get_json()["id"])))
    assert code == 0, report
    monkeypatch.undo()
    assert_error(
        client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers),
        409,
        "NOTHING_TO_EXPORT",
    )


def _path(app: Any, batch_id: str) -> str:
    with db.session_scope(app) as session:
        return str(
            session.execute(
                sa.text("SELECT artefact_path FROM batches WHERE id = :id"), {"id": batch_id}
            ).scalar_one()
        )


def test_a_withdrawal_while_the_batch_is_written_is_left_out(
    app, client, initiative, container, admin_headers, monkeypatch, seal_files
):
    for signer in ("valid_rsa", "valid_p384", "no_prefix"):
        assert post(client, initiative, container(signer)).status_code == 201
    withdrawal = make_edoc(
        form_for("valid_p384", kind=FormKind.WITHDRAWAL), FORM_FILENAME, "valid_p384"
    )
    answers: list[int] = []

    def withdraw_once() -> None:
        if not answers:  # during the first writing only; the export then writes again
            answers.append(post(client, initiative, withdrawal, path="withdrawals").status_code)

    created = _export_with(monkeypatch, client, initiative, admin_headers, withdraw_once)
    assert answers == [200]
    assert created.status_code == 201, created.get_data(as_text=True)
    batch = created.get_json()
    assert batch["count"] == 2
    with db.session_scope(app) as session:
        rows = session.execute(sa.select(Signature.status, Signature.batch_id)).all()
    assert sorted((r.status.value, r.batch_id) for r in rows) == sorted(
        [("accepted", batch["id"]), ("accepted", batch["id"]), ("withdrawn", None)]
    )
    assert len(list(Path(app.config["BATCH_DIR"]).iterdir())) == 1  # the first file is gone
    code, report = verify_batch(app, seal_files[2], Path(_path(app, batch["id"])))
    assert code == 0, report


def test_reservations_of_a_crashed_export_are_released(
    app, client, initiative, container, admin_headers
):
    """An export that died after reserving its signatures left batch_id set without a batch;
    the next export takes them."""
    for signer in ("valid_rsa", "valid_p384"):
        assert post(client, initiative, container(signer)).status_code == 201
    with db.session_scope(app) as session:
        session.execute(sa.update(Signature).values(batch_id=str(uuid.uuid4())))
    created = client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["count"] == 2
    assert_error(
        client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers),
        409,
        "NOTHING_TO_EXPORT",
    )
