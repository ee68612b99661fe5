"""README's "Layout" names every module and package directly under sigsvc/, and nothing gone."""

from __future__ import annotations

import re

from tests.layout.test_import_graph import ROOT


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Layout", 1)[1].split("```", 2)[1]


def test_readme_layout_matches_the_tree():
    tree = {
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "sigsvc").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")
    } - {"__init__.py"}
    named = set(re.findall(r"^  ([a-z_]+(?:\.py|/))", _layout_block(), flags=re.MULTILINE))
    assert named == tree
