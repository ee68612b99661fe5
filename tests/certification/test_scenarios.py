"""Every named scenario builds; the independent XMLDSig self-check agrees where it can judge."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from certification.testpki.corpus import write_corpus
from certification.testpki.scenarios import Scenario, scenarios
from crypto.reasons import Reason

from .xmldsig_check import SelfCheckFailed, check_container

pytestmark = pytest.mark.usefixtures("responders")
REASONS = {reason.value for reason in Reason}  # docs/design.md "Fixed vocabularies"
CONTAINER_LEVEL = {"MALFORMED_CONTAINER", "UNSAFE_INPUT", "UNSUPPORTED_FORMAT"}


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.name)
def test_scenario_builds_and_self_check_agrees(scenario: Scenario) -> None:
    assert scenario.reason is None or scenario.reason in REASONS
    data = scenario.build()
    if scenario.suffix != ".edoc" or scenario.reason in CONTAINER_LEVEL:
        return
    if scenario.reason == "SIGNATURE_INVALID" and "signing_certificate" not in scenario.name:
        with pytest.raises(SelfCheckFailed):
            check_container(data)
    else:
        assert check_container(data)
        assert zipfile.ZipFile(BytesIO(data)).namelist()[0] == "mimetype"


def test_corpus_manifest(tmp_path: Path) -> None:
    entries = write_corpus(tmp_path, names={"valid_p384_T", "revoked_LT", "valid_p384_pades_T"})
    assert [e["file"] for e in entries] == [
        "valid_p384_T.edoc",
        "valid_p384_pades_T.pdf",
        "revoked_LT.edoc",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenarios"] == json.loads(json.dumps(entries))
    assert all((tmp_path / e["file"]).stat().st_size > 0 for e in manifest["scenarios"])
    assert (tmp_path / "trusted-list.xml").exists() and (tmp_path / "tl-signer.pem").exists()
