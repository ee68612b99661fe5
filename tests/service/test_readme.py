"""README's walk-through, run as written: `sigsvc demo-run` in a fresh folder, then the
"## Walk-through" shell block in bash (set -euo pipefail) in another process, as a reader would
in a second terminal. Needs curl and jq (Debian packages; .ci/run installs them)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Walk-through\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return block


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_walkthrough_runs_as_written(tmp_path):
    missing = [tool for tool in ("curl", "jq", "sha256sum", "base64") if not shutil.which(tool)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} missing: .ci/run installs them")
        pytest.skip(f"{missing} not installed")
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    demo_env = {**env, "SIGSVC_INSTANCE_PATH": str(tmp_path / "instance")}
    port = _free_port()
    server = subprocess.Popen(
        [f"{bin_dir}/sigsvc", "demo-run", "--port", str(port), "--workers", "1"],
        cwd=tmp_path,
        env=demo_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        # the demo flow's last file (after its receipt and files for the reader): "demo done"
        kept = tmp_path / "instance" / "demo" / "checkpoint"
        deadline = time.monotonic() + 180
        while not kept.exists():
            assert time.monotonic() < deadline and server.poll() is None, "demo did not finish"
            time.sleep(0.5)
        time.sleep(1)
        walk = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            cwd=tmp_path,
            env=env,  # a new terminal: nothing but what `. instance/demo.env` brings
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.killpg(server.pid, signal.SIGINT)
        demo_out, _ = server.communicate(timeout=60)
    assert walk.returncode == 0, walk.stdout + walk.stderr
    out = walk.stdout
    assert '{"status":"ready","intake":true}' in out
    assert "Paraksta veidlapa: v1" in out
    assert '"code": "DUPLICATE"' in out
    assert out.count("OK    export verified") == 2  # the tar and the tiles
    assert "OK    entry " in out  # the receipt
    assert '{"status":"acknowledged"}' in out
    assert "OK    " in out.split('{"status":"acknowledged"}', 1)[1]  # verify-batch
    assert '"code": "ALREADY_EXPORTED"' in out
    assert "demo done" in demo_out
