"""Every folder of Python code under sigsvc/ is a regular package (setuptools' find_packages,
which the wheel uses, skips a folder without __init__.py)."""

from __future__ import annotations

from tests.layout.test_import_graph import ROOT


def test_every_code_folder_has_an_init():
    folders = {p.parent for p in (ROOT / "sigsvc").rglob("*.py")}
    assert (
        sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()) == []
    )
