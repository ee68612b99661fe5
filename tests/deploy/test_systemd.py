"""deploy/'s systemd units pass systemd's own verifier (`systemd-analyze verify`: directives,
unit references, executables) with no warning. Only the install path of the virtualenv is
rewritten to this one's, so the ExecStart binaries exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sigsvc.web.serve import ServeSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("sigsvc.service", "sigsvc-backup.service", "sigsvc-backup.timer")
INSTALLED = "/opt/sigsvc/venv/bin/"  # deploy/sigsvc.service: where the wheel is installed


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing: .ci/run installs Debian's systemd")
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    return found


def test_units_verify_without_a_warning(tmp_path):
    analyze = _analyze()
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        if name == "sigsvc.service":
            assert INSTALLED in text, "deploy/sigsvc.service moved the venv: update this test"
            text = text.replace(INSTALLED, str(Path(sys.executable).parent) + "/")
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""  # unknown keys etc. only warn: none allowed


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a typo'd directive and a missing binary are reported."""
    analyze = _analyze()
    text = (DEPLOY / "sigsvc.service").read_text(encoding="utf-8")
    (tmp_path / "sigsvc.service").write_text(text.replace("Restart=", "Restrat="))
    result = subprocess.run([analyze, "verify", str(tmp_path / "sigsvc.service")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "Restrat" in result.stderr and INSTALLED in result.stderr


def test_stop_timeout_outlasts_the_graceful_timeout():
    """systemd must not SIGKILL gunicorn while in-flight requests may still finish."""
    text = (DEPLOY / "sigsvc.service").read_text(encoding="utf-8")
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert stop > ServeSettings().graceful_timeout
