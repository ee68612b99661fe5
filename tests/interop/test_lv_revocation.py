"""Revocation at the signing time on real Latvian DEMO eID signatures (digidoc4j test files):
the peers accept OCSP produced 7 min, 22 h and 44 h after the time stamp, warning "not fresh"
beyond 15 min; a T-level signature needs evidence fetched after the fact."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

import crypto
from crypto import FetchError, Policy, Reason, SubIndication, TrustStore

pytestmark = pytest.mark.interop

AT = datetime(2024, 6, 20, 8, 0, tzinfo=UTC)  # a few days after the DEMO samples' time stamps
XADES = "http://uri.etsi.org/01903/v1.3.2#"


@pytest.fixture(scope="module")
def demo_anchors(interop_dir: Path) -> TrustStore:
    return TrustStore(
        test_anchors=[
            (interop_dir / "DEMO_LV_eID_ICA_2021.pem").read_bytes(),
            (interop_dir / "DEMO_SK_TSA_2023E.der.crt").read_bytes(),
        ]
    )


def _verify(
    data: bytes, trust: TrustStore, fetcher: crypto.Fetcher | None = None
) -> crypto.Verdict:
    return crypto.verify(data, policy=Policy(), trust=trust, fetcher=fetcher, at=AT)


def _not_fresh(v: crypto.Verdict) -> list[str]:
    return [w for w in v.warnings if "not fresh" in w]


def test_demo_ocsp_7min_accepted_without_warning(interop_dir: Path, demo_anchors: TrustStore):
    v = _verify((interop_dir / "lv_demo_p384-LT-ocsp-7min.asice").read_bytes(), demo_anchors)
    assert v.accepted, v.message
    assert v.signer is not None and v.signer.serial_number == "PNOLV-321806-14495"
    assert _not_fresh(v) == []


@pytest.mark.parametrize(("name", "delay"), [("22h", "22 h 42 min"), ("44h", "43 h 25 min")])
def test_demo_late_ocsp_accepted_with_not_fresh_warning(
    interop_dir: Path, demo_anchors: TrustStore, name: str, delay: str
) -> None:
    v = _verify((interop_dir / f"lv_demo_p384-LT-ocsp-{name}.asice").read_bytes(), demo_anchors)
    assert v.accepted, v.message
    (warning,) = _not_fresh(v)
    assert f"{delay} after the time stamp" in warning


def test_demo_t_only_offline_is_revocation_unavailable(
    interop_dir: Path, demo_anchors: TrustStore
) -> None:
    v = _verify((interop_dir / "lv_demo_p384-T-only.asice").read_bytes(), demo_anchors)
    assert (v.reason, v.subindication) == (Reason.REVOCATION_UNAVAILABLE, SubIndication.TRY_LATER)
    assert v.message == "no embedded revocation data and fetching is disabled"


def _embedded_ocsp(container: bytes) -> bytes:
    import base64

    with zipfile.ZipFile(io.BytesIO(container)) as z:
        name = next(n for n in z.namelist() if n.startswith("META-INF/") and "signature" in n)
        root = etree.fromstring(z.read(name))
    value = root.find(f".//{{{XADES}}}EncapsulatedOCSPValue")
    assert value is not None and value.text
    return base64.b64decode(value.text)


class _ReplayFetcher:
    """Answers every OCSP request with one recorded response (the DEMO responder is offline)."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.asked: list[str] = []

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        self.asked.append(url)
        return self.response

    def crl(self, url: str) -> bytes:
        raise FetchError(f"no CRL recorded for {url}")

    def certificate(self, url: str) -> bytes:
        raise FetchError(f"no certificate recorded for {url}")


@pytest.mark.parametrize("name", ["22h", "44h"])
def test_demo_t_only_with_later_fetched_ocsp_accepted(
    interop_dir: Path, demo_anchors: TrustStore, name: str
) -> None:
    later = _embedded_ocsp((interop_dir / f"lv_demo_p384-LT-ocsp-{name}.asice").read_bytes())
    fetcher = _ReplayFetcher(later)
    v = _verify((interop_dir / "lv_demo_p384-T-only.asice").read_bytes(), demo_anchors, fetcher)
    assert v.accepted, v.message
    assert fetcher.asked and v.evidence.ocsp_responses == (later,)
    assert len(_not_fresh(v)) == 1
