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


def test_trust_dir_judges_by_the_list_version_in_force_at_the_time_stamp(
    files: dict[str, Path], tmp_path: Path, responders: Responders
) -> None:
    """`--trust-dir`: the lists `sigsvc trust refresh` kept; list 2, issued after the time
    stamp, no longer lists the signer's CA, list 1 (in force then) did: accepted by list 1."""
    from datetime import timedelta

    from certification.testpki import clock
    from certification.testpki.lotl import LV_TL_URL, build_lotl
    from certification.testpki.tl import default_services
    from sigsvc.intake import trustlists

    changed_at = clock.TIMESTAMP_TIME + timedelta(hours=2)
    without_ica = [s for s in default_services() if s.cert_label != "ica"]
    second = build_trusted_list(sequence=2, issued=changed_at, services=without_ica)
    settings = trustlists.RefreshSettings(
        directory=tmp_path / "trust", lotl_signers=(cert_der("lotl_operator"),), lotl_url="lotl"
    )
    for now, tl in ((clock.TL_ISSUED, build_trusted_list()), (changed_at, second)):
        served = {"lotl": build_lotl(), LV_TL_URL: tl}
        trustlists.refresh(settings, now=now, get=served.__getitem__)
    lotl_signer = tmp_path / "lotl.der"
    lotl_signer.write_bytes(cert_der("lotl_operator"))
    (tmp_path / "second.xml").write_bytes(second)
    edoc = tmp_path / "lt.edoc"
    edoc.write_bytes(make_form_edoc("valid_p384", level="LT"))
    later = (changed_at + timedelta(hours=1)).isoformat()
    code, out = _run(
        [str(edoc), "--trust-dir", str(tmp_path / "trust"), "--lotl-signer", str(lotl_signer),
         "--at", later, "--offline", "--json"]
    )  # fmt: skip
    assert code == 0, out
    code, out = _run(  # the current list alone says otherwise
        [str(edoc), "--trusted-list", str(tmp_path / "second.xml"), "--tl-signer",
         str(files["operator"]), "--at", later, "--offline", "--json"]
    )  # fmt: skip
    assert code == 1 and isinstance(out, dict) and out["reason"] == "UNTRUSTED_CHAIN", out
