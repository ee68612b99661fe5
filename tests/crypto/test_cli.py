"""`sigsvc verify` end to end through click: exit codes, JSON fields, test-anchor labelling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from certification.testpki import Responders, make_form_edoc
from certification.testpki.pki import cert_der
from certification.testpki.sign import form_for
from certification.testpki.tl import build_trusted_list
from sigsvc.cli.verify import command
from tests.crypto.conftest import AT, TL_FETCHED

CLI_FIELDS = {
    "verdict",
    "reason",
    "indication",
    "subindication",
    "format",
    "level",
    "signer",
    "signing_time",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, responders: Responders) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    out = {
        "edoc": make_form_edoc("valid_p384"),
        "revoked": make_form_edoc("revoked"),
        "tl": build_trusted_list(),
        "operator": cert_der("tl_operator"),
        "ica": cert_der("ica"),
        "root": cert_der("root"),
        "form": form_for("valid_p384"),
    }
    paths = {}
    for name, data in out.items():
        paths[name] = root / name
        paths[name].write_bytes(data)
    return paths


def _run(args: list[str]) -> tuple[int, dict[str, object] | str]:
    result = CliRunner().invoke(command, args)
    try:
        return result.exit_code, json.loads(result.output)
    except json.JSONDecodeError:
        return result.exit_code, result.output


def _tl_args(files: dict[str, Path]) -> list[str]:
    return [
        "--trusted-list",
        str(files["tl"]),
        "--tl-signer",
        str(files["operator"]),
        "--tl-fetched-at",
        TL_FETCHED.isoformat(),
        "--at",
        AT.isoformat(),
        "--json",
    ]


def test_accept_exit_0(files: dict[str, Path]) -> None:
    code, out = _run([str(files["edoc"]), *_tl_args(files), "--expect-form", str(files["form"])])
    assert code == 0, out
    assert isinstance(out, dict) and set(out) >= CLI_FIELDS
    assert out["verdict"] == "accept" and out["level"] == "XAdES-BASELINE-T"
    assert out["signing_time"] == "2026-03-02T10:00:05Z"
    assert out["trust_source"] == "trusted-list"


def test_reject_exit_1(files: dict[str, Path]) -> None:
    code, out = _run([str(files["revoked"]), *_tl_args(files)])
    assert code == 1
    assert isinstance(out, dict) and out["reason"] == "CERT_REVOKED"


def test_offline_without_embedded_revocation_is_rejected(files: dict[str, Path]) -> None:
    code, out = _run([str(files["edoc"]), *_tl_args(files), "--offline"])
    assert code == 1 and isinstance(out, dict)
    assert out["reason"] == "REVOCATION_UNAVAILABLE"


def test_anchor_says_test_only(files: dict[str, Path]) -> None:
    code, out = _run(
        [str(files["edoc"]), "--anchor", str(files["root"]), "--at", AT.isoformat(), "--json"]
    )
    assert code == 0 and isinstance(out, dict)
    assert out["trust_source"] == "test-anchor"
    assert "test/demo anchor" in str(out["trust_note"])


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--json"],  # no trust configured
        ["--trusted-list", "{tl}"],  # no matching --tl-signer
        ["--anchor", "{ica}", "--at", "yesterday"],
        ["--anchor", "{ica}", "--at", "2026-03-02T10:00:00"],  # naive time
    ],
)
def test_usage_errors_exit_2(files: dict[str, Path], args: list[str]) -> None:
    filled = [a.format(tl=files["tl"], ica=files["ica"]) for a in args]
    code, _ = _run([str(files["edoc"]), *filled])
    assert code == 2


def test_bad_trusted_list_is_usage_error(files: dict[str, Path]) -> None:
    code, _ = _run(
        [
            str(files["edoc"]),
            "--trusted-list",
            str(files["tl"]),
            "--tl-signer",
            str(files["ica"]),
            "--json",
        ]
    )
    assert code == 2
