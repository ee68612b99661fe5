"""Our .edoc has the shape of the Latvian DEMO eID sample (interop tier, ../shared/interop)."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from lxml import etree

from certification.testpki import make_form_edoc

SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "lv_demo_p384-T.asice"
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/interop not present"),
]


def _signature_xml(container: bytes) -> etree._Element:
    archive = zipfile.ZipFile(BytesIO(container))
    (name,) = [n for n in archive.namelist() if "signatures" in n]
    return etree.fromstring(archive.read(name), etree.XMLParser(resolve_entities=False))


def _shape(element: etree._Element) -> list[str]:
    """Element paths with algorithm URIs, ignoring values, ids and whitespace."""
    out = []
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        path = "/".join(
            etree.QName(a).localname for a in [*reversed(list(node.iterancestors())), node]
        )
        out.append(f"{path} {node.get('Algorithm', '')}".strip())
    return out


def test_same_skeleton_as_the_demo_p384_sample(responders: object) -> None:
    ours = _signature_xml(make_form_edoc("valid_p384", level="T"))
    theirs = _signature_xml(SAMPLE.read_bytes())
    assert ours.nsmap == theirs.nsmap  # asic, ds, xades declared on the root
    # EN 319 132-1 baseline requires SigningCertificateV2; the 2024 DEMO sample still used v1.
    normalise = {"SigningCertificate": "SigningCertificateV2", "IssuerSerial": "IssuerSerialV2"}

    def norm(paths: list[str]) -> list[str]:
        return sorted(
            {
                "/".join(normalise.get(p, p) for p in path.split(" ")[0].split("/"))
                + (" " + path.split(" ")[1] if " " in path else "")
                for path in paths
                if "X509IssuerName" not in path and "X509SerialNumber" not in path
            }
        )

    assert norm(_shape(ours)) == norm(_shape(theirs))
