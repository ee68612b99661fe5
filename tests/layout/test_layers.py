"""Layer rules read from the source: domain code knows no HTTP, and every refusal it raises
names a code of the API's error vocabulary."""

from __future__ import annotations

import ast

import pytest

from sigsvc.web.errors import ERROR_CODES
from tests.layout.test_import_graph import ROOT, _graph, _modules

HTTP_FREE = ("sigsvc.intake", "sigsvc.log")


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m.startswith(HTTP_FREE)))
def test_intake_and_log_know_no_http(module):
    web = {m for m in _graph()[module] if m.startswith(("sigsvc.web", "sigsvc.api"))}
    source = (ROOT / _modules()[module].relative_to(ROOT)).read_text(encoding="utf-8")
    flask = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (getattr(node, "module", None) or alias.name).split(".")[0] in ("flask", "werkzeug")
            for alias in node.names
        )
    ]
    assert not web and not flask, f"{module} imports the web layer"


def _refusal_codes() -> set[tuple[str, str]]:
    found = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("Refusal", "ApiError")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add((name, node.args[0].value))
    return found


def test_every_refusal_names_a_registered_code():
    codes = _refusal_codes()
    assert len(codes) > 20  # the walker finds them
    assert {(m, c) for m, c in codes if c not in ERROR_CODES} == set()


def test_the_api_answers_every_reason_of_the_one_vocabulary():
    from crypto.reasons import MEANINGS, Reason

    assert set(MEANINGS) == set(Reason)
    assert {r.value for r in Reason} <= set(ERROR_CODES)
    unsafe = ERROR_CODES[Reason.UNSAFE_INPUT.value]
    assert unsafe == (422, MEANINGS[Reason.UNSAFE_INPUT])


def test_checkpoints_are_cut_only_by_the_log_service():
    cutters = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            if isinstance(called, ast.Attribute) and called.attr == "checkpoint":
                cutters.add(name)  # audit.log.Log.checkpoint signs a new checkpoint
            if isinstance(called, ast.Name) and called.id == "CheckpointClock":
                cutters.add(name)
    assert {m for m in cutters if m.startswith("sigsvc.")} == {
        "sigsvc.log.service",
        "sigsvc.log.storage",  # LogStore, the store the bench and tests drive directly
    }
