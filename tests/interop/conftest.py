"""The interop tier reads real samples from ../shared/interop (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop"


@pytest.fixture(scope="session")
def interop_dir() -> Path:
    if not (INTEROP / "PROVENANCE.md").is_file():
        pytest.skip(f"interop samples not present at {INTEROP}")
    return INTEROP
