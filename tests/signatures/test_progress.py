"""Long CLI runs show progress on a terminal and nothing extra in pipes."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from audit.cli import main as sigaudit
from sigsvc import progress
from tests.signatures.test_tiles_api import _append


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reports_reach_a_terminal_only():
    tty, pipe = _Terminal(), io.StringIO()
    with progress.on_terminal(tty):
        for done in (256, 512, 600):
            progress.report("log export", done, 600)
    with progress.on_terminal(pipe):
        progress.report("log export", 600, 600)
    progress.report("log export", 1, 2)  # no reporter installed: nothing, nowhere
    assert tty.getvalue().endswith("\rlog export: 600/600 (100%)\x1b[K\n")
    assert pipe.getvalue() == ""


def test_log_export_cli_progress_on_a_pty_quiet_in_a_pipe(app, client, database_url, tmp_path):
    _append(app, 600)
    assert client.get("/checkpoint").status_code == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env["DATABASE_URL"] = database_url
    sigsvc = str(Path(sys.executable).parent / "sigsvc")

    main, secondary = pty.openpty()
    try:
        on_tty = subprocess.run(
            [sigsvc, "log", "export", str(tmp_path / "a.tar")],
            env=env, stderr=secondary, stdout=subprocess.PIPE, timeout=120, check=True,
        )  # fmt: skip
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
    assert b"log export: 600/600 (100%)" in seen, seen
    assert on_tty.stdout == b""

    piped = subprocess.run(
        [sigsvc, "log", "export", "-"], env=env, capture_output=True, timeout=120, check=True
    )
    assert piped.stderr.decode().strip() == "600 entries, 1 checkpoints"
    (tmp_path / "b.tar").write_bytes(piped.stdout)
    assert (tmp_path / "a.tar").read_bytes() == piped.stdout
    vkey = client.get("/readyz").get_json()["intake"]["log_key"]
    assert sigaudit(["verify", str(tmp_path / "b.tar"), "--key", vkey, "--quiet"]) == 0
