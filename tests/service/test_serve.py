"""`sigsvc serve` refuses to start on missing or invalid configuration, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigsvc.config import ConfigError
from sigsvc.web.serve import LONGEST_FETCH_SECONDS, ServeSettings

SIGSVC = str(Path(sys.executable).parent / "sigsvc")


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    base["SIGSVC_INSTANCE_PATH"] = str(tmp_path / "instance")
    return subprocess.run(
        [SIGSVC, "serve", "--bind", "127.0.0.1:1"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_settings_from_the_environment():
    settings = ServeSettings.from_env(
        {"SIGSVC_WORKERS": "3", "SIGSVC_THREADS": "8", "SIGSVC_GRACEFUL_TIMEOUT": "45"}
    )
    assert (settings.workers, settings.threads, settings.graceful_timeout) == (3, 8, 45)
    assert ServeSettings().graceful_timeout > LONGEST_FETCH_SECONDS


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SIGSVC_WORKERS": "two"}, "SIGSVC_WORKERS"),
        ({"SIGSVC_THREADS": "0"}, "SIGSVC_THREADS"),
        ({"SIGSVC_GRACEFUL_TIMEOUT": "5"}, "SIGSVC_GRACEFUL_TIMEOUT"),
        ({"SIGSVC_TIMEOUT": "10"}, "SIGSVC_TIMEOUT"),
        ({"SIGSVC_BIND": "8080"}, "SIGSVC_BIND"),
    ],
)
def test_bad_serving_settings_name_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        ServeSettings.from_env(env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///x.sqlite", "SIGSVC_LOG_LEVEL": "verbose"}, "SIGSVC_LOG_LEVEL"),
        ({"DATABASE_URL": "sqlite:///x.sqlite", "SIGSVC_WROKERS": "2"}, "SIGSVC_WROKERS"),
        ({"SIGSVC_WORKERS": "many"}, "SIGSVC_WORKERS"),
    ],
)
def test_serve_fails_fast_naming_the_variable(tmp_path, env, named):
    result = _serve(tmp_path, **env)
    assert result.returncode != 0
    assert named in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database_then_missing_intake_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = _serve(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0 and "sigsvc db upgrade" in result.stderr, result.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    subprocess.run(
        [SIGSVC, "db", "upgrade"], env={**env, "DATABASE_URL": url}, check=True, capture_output=True
    )
    result = _serve(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "SIGSVC_KEK" in result.stderr, result.stderr
