"""Real Latvian/Estonian samples (see ../shared/interop/PROVENANCE.md): parse and name signers."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import crypto
from crypto import Policy, Reason, TrustedListSource, TrustStore

pytestmark = pytest.mark.interop

AT = datetime(2024, 4, 16, 8, 0, tzinfo=UTC)  # shortly after the DEMO samples were signed
TL_FETCHED = datetime(2023, 9, 20, tzinfo=UTC)  # seq 41 was current then (issued 2023-09-12)


def _verify(path: Path, trust: TrustStore) -> crypto.Verdict:
    return crypto.verify(path.read_bytes(), policy=Policy(), trust=trust, fetcher=None, at=AT)


@pytest.fixture(scope="module")
def demo_trust(interop_dir: Path) -> TrustStore:
    return TrustStore(test_anchors=[(interop_dir / "DEMO_LV_eID_ICA_2021.pem").read_bytes()])


def test_every_sample_parses(interop_dir: Path, demo_trust: TrustStore) -> None:
    for path in sorted(interop_dir.glob("*.asice")) + sorted(interop_dir.glob("*.edoc")):
        v = _verify(path, demo_trust)
        assert v.verdict == "reject"  # no sample is a signature form with a trusted chain + TSA
        assert not v.message.startswith("unexpected"), (path.name, v.message)


def test_demo_p384_names_the_signer(interop_dir: Path, demo_trust: TrustStore) -> None:
    v = _verify(interop_dir / "lv_demo_p384-T.asice", demo_trust)
    assert v.format == "ASiC-E/XAdES"
    assert v.level == "XAdES-BASELINE-T"
    assert v.signer is not None
    assert (v.signer.given_name, v.signer.surname) == ("MĀRA", "PARAUDZIŅA")
    assert v.signer.serial_number == "PNOLV-321806-14495"
    assert v.signer.personal_code == "321806-14495"
    assert v.signer.birth_date is None  # new-format code
    assert v.trust_source == "test-anchor"
    assert v.data_file is not None and v.data_file.name == "test2.txt"
    # Its TSA is not trusted here (only the DEMO eID CA is anchored): a permanent
    # TIMESTAMP_INVALID wins over the offline "try later" a retry could never cure (issue 10).
    assert v.reason is Reason.TIMESTAMP_INVALID, v.message
    # (offline without embedded OCSP, TSA trusted: REVOCATION_UNAVAILABLE/TRY_LATER, in
    # test_lv_revocation.py with the T-only sample)


def test_demo_rsa_names_the_signer(interop_dir: Path, demo_trust: TrustStore) -> None:
    v = _verify(interop_dir / "lv_demo_rsa-T.asice", demo_trust)
    assert v.signer is not None and v.signer.serial_number == "PNOLV-325674-57180"
    assert v.reason is Reason.UNTRUSTED_CHAIN  # its issuer, DEMO LV eID ICA 2017, is not given


def test_edoc_structure_verdicts(interop_dir: Path, demo_trust: TrustStore) -> None:
    valid = _verify(interop_dir / "edoc_valid_mimetype.edoc", demo_trust)
    assert valid.reason is Reason.UNTRUSTED_CHAIN  # structure and signature fine, EE chain
    assert valid.level == "XAdES-BASELINE-LT"
    for name in ("edoc_no_mimetype.edoc", "edoc_mimetype_last.edoc"):
        v = _verify(interop_dir / name, demo_trust)
        assert v.reason is Reason.MALFORMED_CONTAINER, name


def _embedded_tl_signer(xml: bytes) -> bytes:
    """The sample set has no separate operator certificate; pin the one the list carries."""
    match = re.search(rb"<ds:KeyInfo>.*?<ds:X509Certificate>([^<]+)", xml, re.S)
    assert match
    return base64.b64decode(b"".join(match.group(1).split()))


def test_latvian_tl_seq41_lists_lvrtc_services(interop_dir: Path) -> None:
    xml = (interop_dir / "latvian-tsl-seq41.xml").read_bytes()
    trust = TrustStore(
        trusted_lists=[TrustedListSource(xml, (_embedded_tl_signer(xml),), TL_FETCHED)]
    )
    (info,) = trust.lists
    assert (info.territory, info.sequence) == ("LV", 41)
    names = {(s.kind, s.name) for s in trust.services()}
    assert ("CA/QC", "LV eID ICA 2021") in names
    assert ("CA/QC", "LV eParaksts ICA 2021") in names
    assert ("CA/QC", "LV eID 2017") in names
    assert any(kind == "QTST" and "eParaksts TSA" in name for kind, name in names)


def test_latvian_tl_signature_checked_at_fetch_time(interop_dir: Path) -> None:
    xml = (interop_dir / "latvian-tsl-seq41.xml").read_bytes()
    signer = _embedded_tl_signer(xml)
    late = datetime(2026, 1, 1, tzinfo=UTC)  # operator certificate expired 2025-10-06
    with pytest.raises(crypto.VerificationError):
        TrustStore(trusted_lists=[TrustedListSource(xml, (signer,), late)])
    tampered = xml.replace(b"LV eID ICA 2021", b"LV eID ICA 2099", 1)
    with pytest.raises(crypto.VerificationError):
        TrustStore(trusted_lists=[TrustedListSource(tampered, (signer,), TL_FETCHED)])
