"""Fault (issue 9): SQLite on a full disk.

The database lives on a 3 MiB tmpfs; a filler file takes the rest. Posts on the full disk are
refused with a 5xx and store nothing half-way; once space is back the platform's retry with
the same Idempotency-Key succeeds by itself, every signature answered 201 before is still
there, and the log is dense and verifies. Needs mount(8) rights (root, as in CI); skipped
with the reason otherwise (run the suite in `unshare -n -m` so the mount stays private).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import cli as sigaudit
from sigsvc import db
from tests.export.conftest import log_vkey
from tests.signatures.conftest import post


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def database_url(small_disk: Path, request: pytest.FixtureRequest) -> str:
    """The migrated SQLite template, copied onto the small disk (overrides the conftest's)."""
    path = small_disk / "sigsvc.sqlite"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


def _fill(directory: Path) -> Path:
    """Write until the file system says ENOSPC (big blocks, then small ones)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * block)
    finally:
        os.close(fd)
    return filler


def test_full_disk_refuses_then_recovers(app, client, initiative, container, small_disk, tmp_path):
    answered = []
    for signer in ("valid_rsa", "valid_p384"):
        response = post(client, initiative, container(signer))
        assert response.status_code == 201
        answered.append(response.get_json()["id"])
    filler = _fill(small_disk)
    with pytest.raises(OSError) as full:
        (small_disk / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC

    key = uuid.uuid4().hex
    body = container("no_prefix")
    refused = post(client, initiative, body, key=key)
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.get_json()["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert refused.headers["Retry-After"]

    filler.unlink()
    retried = post(client, initiative, body, key=key)  # the platform's retry, same key
    assert retried.status_code == 201, retried.get_data(as_text=True)
    answered.append(retried.get_json()["id"])
    with db.engine_of(app).connect() as conn:
        stored = {
            str(uuid.UUID(str(r[0]))) for r in conn.execute(sa.text("SELECT id FROM signatures"))
        }
        size = conn.scalar(sa.text("SELECT size FROM audit_log_head"))
        indexes = [
            r[0] for r in conn.execute(sa.text("SELECT idx FROM audit_log_entries ORDER BY idx"))
        ]
    assert set(answered) <= stored
    assert indexes == list(range(size))
    export = client.get("/v1/log/export")
    path = tmp_path / "log.tar"
    path.write_bytes(export.get_data())
    export.close()
    with redirect_stdout(io.StringIO()):
        assert sigaudit.main(["verify", str(path), "--key", log_vkey(app), "--quiet"]) == 0
