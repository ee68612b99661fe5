"""Identity: a Latvian personal code only from PNOLV- (EN 319 412-1 §5.1.3) or, for legacy
certificates, a bare DDMMYY-NNNNN with C=LV from an LV-listed CA."""

from __future__ import annotations

import pytest
from asn1crypto import x509

from certification.testpki import Responders, make_form_edoc
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import Policy, Reason, TrustedListSource, TrustStore, verify
from crypto._internal.identity import signer_from_certificate
from crypto.errors import InvalidPersonalCode
from crypto.personal_code import parse_personal_code

from .conftest import AT, TL_FETCHED


@pytest.mark.parametrize(
    ("serial", "named"),
    [
        ("37910015225", "neither PNOLV-DDMMYY-NNNNN nor a legacy"),  # Estonian, bare
        ("35510300028", "neither PNOLV-DDMMYY-NNNNN nor a legacy"),  # Lithuanian, bare
        ("PNOEE-37910015225", r"is a EE PNO identifier \(PNOEE-\.\.\.\)"),
        ("PNOLT-35510300028", r"is a LT PNO identifier \(PNOLT-\.\.\.\)"),
        ("IDCLV-110187-12529", "is a LV IDC identifier"),
    ],
)
def test_identity_foreign_ids_invalid_personal_code(serial: str, named: str) -> None:
    with pytest.raises(InvalidPersonalCode, match=named) as raised:
        parse_personal_code(serial)
    assert serial[-5:] not in raised.value.message  # C1: never the identifier's value


def test_identity_pnolv_and_bare_forms() -> None:
    assert parse_personal_code("PNOLV-110187-12529").bare is False
    assert parse_personal_code("PNOLV-11018712529").code == "110187-12529"
    legacy = parse_personal_code("110187-12529")
    assert (legacy.code, legacy.bare) == ("110187-12529", True)


def _with_subject(der: bytes, **attrs: str) -> x509.Certificate:
    cert = x509.Certificate.load(der)
    subject = dict(cert.subject.native)
    subject.update(attrs)
    tbs = cert["tbs_certificate"].copy()
    tbs["subject"] = x509.Name.build(subject)
    return x509.Certificate(
        {**{k: cert[k] for k in ("signature_algorithm", "signature_value")}, "tbs_certificate": tbs}
    )


def test_identity_bare_code_needs_country_lv() -> None:
    der = cert_der("no_prefix")  # serialNumber 230390-14568, C=LV
    assert signer_from_certificate(x509.Certificate.load(der), der).legacy_code
    foreign = _with_subject(der, country_name="EE")
    with pytest.raises(InvalidPersonalCode, match="country is not LV"):
        signer_from_certificate(foreign, foreign.dump())


def test_identity_legacy_code_from_lv_listed_ca_accepted(
    trust: TrustStore, responders: Responders
) -> None:
    v = verify(
        make_form_edoc("no_prefix", level="LT"), policy=Policy(), trust=trust, fetcher=None, at=AT
    )
    assert v.accepted, v.message
    assert v.signer is not None and v.signer.legacy_code


def test_identity_legacy_code_from_ca_not_on_lv_list_rejected(responders: Responders) -> None:
    # The same CA, listed by another territory's list: a bare code there is not a Latvian one.
    listed = build_trusted_list(territory="EE")
    trust = TrustStore(
        trusted_lists=[TrustedListSource(listed, (cert_der("tl_operator"),), TL_FETCHED)]
    )
    v = verify(
        make_form_edoc("no_prefix", level="LT"), policy=Policy(), trust=trust, fetcher=None, at=AT
    )
    assert v.reason is Reason.INVALID_PERSONAL_CODE
    assert "not on the Latvian trusted list" in v.message and "230390" not in v.message
