"""Auditor tools fail closed: without their trust inputs they exit 2 naming the missing flag,
before reading anything (issue 9: `verify-batch` without a seal anchor and `consistency` without
a key printed OK and exited 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.cli import main


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["verify-batch", "batch.asice", "--key", "k"], "--seal-anchor"),
        (["verify-batch", "batch.asice", "--seal-anchor", "ca.der"], "--key"),
        (["consistency", "old.note", "new.note", "--proof", "p"], "--key"),
        (["verify", "export.tar"], "--key"),
        (["verify-receipt", "receipt.txt"], "--key"),
    ],
)
def test_missing_trust_input_exits_2_naming_the_flag(
    argv: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("batch.asice", "old.note", "new.note", "p", "export.tar", "receipt.txt"):
        (tmp_path / name).write_bytes(b"x")
    argv = [str(tmp_path / a) if (tmp_path / a).exists() else a for a in argv]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert flag in captured.err
    assert "OK" not in captured.out
