"""The wheel as an operator installs it: built from the sources, installed into a fresh virtualenv
outside the checkout, migrated and served, and a qualified signature posted through it.

Offline by design (tests run in a network namespace): the wheel is built with the development
venv's setuptools (`--no-build-isolation`) and installed with `--no-deps`; its dependencies are
made importable from the development venv by a plain path entry, which runs none of that venv's
`.pth` hooks, so the checkout's editable install is invisible and `sigsvc` can only come from the
wheel (asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import requests

from certification.testpki import RESPONDER_TIME, make_form_edoc
from certification.testpki.pytest_plugin import responders
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from tests.conftest import wait_ready

__all__ = ["responders"]

CHECKOUT = Path(__file__).resolve().parents[2]
GENERATED = CHECKOUT / "certification" / "testpki" / "generated"
ADMIN_TOKEN = "wheel-test-admin-token-0123456789abcdef"


def _sources(into: Path) -> Path:
    """The files git would ship (tracked or new, not ignored): no .venv, build/ or egg-info."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = CHECKOUT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed to list the sources")
    work = tmp_path_factory.mktemp("wheel")
    src = _sources(work / "src")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("sigsvc-*.whl")
    return built


def test_wheel_has_runtime_data_and_no_private_keys(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    contract = {n for n in names if n.startswith("sigsvc/contract/") and n.endswith(".json")}
    on_disk = {f"sigsvc/contract/{p.name}" for p in (CHECKOUT / "sigsvc" / "contract").glob("*")}
    assert contract == on_disk and "sigsvc/contract/initiative_create.json" in contract
    assert "sigsvc/db/migrations/script.py.mako" in names
    assert any(n.startswith("sigsvc/db/migrations/versions/0001_") for n in names)
    assert not [n for n in names if "TEST-ONLY" in n or n.endswith(".key.pem")]
    assert not [n for n in names if n.startswith("tests/")]
    metadata = zipfile.ZipFile(wheel).read("sigsvc-0.1.0.dist-info/METADATA").decode()
    assert "defusedxml" not in metadata


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_venv(where: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies only; appended after the venv's own site-packages, so the wheel wins.
    (Path(purelib) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where


def test_installed_wheel_serves_and_accepts_a_signature(
    wheel: Path, tmp_path: Path, responders: object
) -> None:
    venv = _fresh_venv(tmp_path / "venv", wheel)
    run_dir = tmp_path / "run"  # the working directory: nowhere near the checkout
    run_dir.mkdir()
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sigsvc, audit, crypto; print(sigsvc.__file__)",
        ],
        cwd=run_dir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where

    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("kek", "pseudonym"):
        (keys / name).write_text("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from audit.note import Signer; "
            f"open({str(keys / 'log.key')!r}, 'w').write(Signer.generate('wheel-test').skey)",
        ],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sigsvc.sqlite'}",
            "SIGSVC_INSTANCE_PATH": str(tmp_path / "instance"),
            "SIGSVC_ADMIN_TOKEN": ADMIN_TOKEN,
            "SIGSVC_KEK_FILE": str(keys / "kek"),
            "SIGSVC_PSEUDONYM_KEY_FILE": str(keys / "pseudonym"),
            "SIGSVC_LOG_KEY_FILE": str(keys / "log.key"),
            "SIGSVC_TRUSTED_LISTS": str(GENERATED / "trusted-list.xml"),
            "SIGSVC_TL_SIGNERS": str(GENERATED / "certs" / "tl_operator.pem"),
            "SIGSVC_TEST_CLOCK": RESPONDER_TIME.isoformat(),
            "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES": "1",  # the test PKI's responders (127.0.0.1)
            "SIGSVC_LOG_LEVEL": "WARNING",
        }
    )
    sigsvc = str(venv / "bin" / "sigsvc")
    subprocess.run([sigsvc, "db", "upgrade"], cwd=run_dir, env=env, check=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sigsvc, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=run_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_ready(base, server, "the installed service")
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        created = requests.post(  # a JSON POST: validated against the wheel's schemas
            f"{base}/v1/initiatives",
            json={
                "regime": "art22_bill",
                "registration_number": "TEST-2026/1",
                "title": "Grozījumi Testa likumā",
                "full_text": TEST_INITIATIVE_TEXT.decode(),
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
            },
            headers=admin,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        initiative = created.json()["id"]
        platform = requests.post(
            f"{base}/v1/platforms",
            json={"name": "wheel-platform", "initiative_ids": [initiative]},
            headers=admin,
            timeout=30,
        )
        assert platform.status_code == 201, platform.text
        key = platform.json()["api_key"]
        edoc = make_form_edoc("valid_rsa", level="LT")  # OCSP embedded
        posted = requests.post(
            f"{base}/v1/initiatives/{initiative}/signatures",
            data=edoc,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/vnd.etsi.asic-e+zip",
                "Idempotency-Key": "wheel-1",
            },
            timeout=60,
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["status"] == "accepted"
        openapi = requests.get(f"{base}/openapi.json", timeout=30)
        assert "initiative_create" in json.dumps(openapi.json()["components"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
