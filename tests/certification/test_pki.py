"""The test PKI regenerates byte-identically and its certificates carry what the roster claims."""

from __future__ import annotations

from datetime import date

import pytest
from asn1crypto import core, x509
from hypothesis import given
from hypothesis import strategies as st

from certification.testpki import generate, pki
from certification.testpki.personal_code import check_digit, old_format_code, with_wrong_check_digit
from certification.testpki.plugins import OID_QC_STATEMENTS, QcStatements

SIGNERS = [
    "valid_p384", "valid_rsa", "no_prefix", "underage", "revoked", "expired", "not_yet_valid",
    "not_qualified", "no_qscd", "no_nonrepudiation", "weak_rsa", "bad_code", "untrusted",
    "ocsp_down", "withdrawn_ca",
]  # fmt: skip


def test_generated_files_are_byte_identical_to_a_fresh_regeneration() -> None:
    fresh = generate.outputs()
    on_disk = {p for p in generate.OUT.rglob("*") if p.is_file()}
    assert on_disk == set(fresh), "run `make pki`"
    stale = [str(p) for p, data in fresh.items() if p.read_bytes() != data]
    assert not stale, f"run `make pki`: {stale}"


def _ext(cert: x509.Certificate, oid: str) -> x509.Extension | None:
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].dotted == oid:
            return ext
    return None


def _qc_ids(cert: x509.Certificate) -> list[str]:
    ext = _ext(cert, OID_QC_STATEMENTS)
    if ext is None:
        return []
    statements = QcStatements.load(bytes(ext["extn_value"]))
    return [s["statement_id"].dotted for s in statements]


def test_subject_dn_keeps_latvian_eid_order_and_string_types() -> None:
    subject = pki.cert("valid_p384").subject
    assert [rdn[0]["type"].native for rdn in subject.chosen] == [
        "country_name", "common_name", "surname", "given_name", "serial_number",
    ]  # fmt: skip
    kinds = [rdn[0]["value"].name for rdn in subject.chosen]
    assert kinds == ["printable_string", "utf8_string", "utf8_string", "utf8_string",
                     "printable_string"]  # fmt: skip
    assert subject.native["common_name"] == "LĪGA OZOLIŅA"
    issuer = pki.cert("valid_p384").issuer
    assert [rdn[0]["type"].native for rdn in issuer.chosen] == [
        "country_name", "organization_name", "organization_identifier", "common_name",
    ]  # fmt: skip


@pytest.mark.parametrize("name", SIGNERS)
def test_every_signer_chains_to_its_issuer_and_has_a_key(name: str) -> None:
    signer = pki.signer(name)
    issuer = x509.Certificate.load(signer.chain_der[0])
    assert signer.cert.issuer == issuer.subject
    assert signer.cert.authority_key_identifier == issuer.key_identifier
    public = signer.key.public_key()
    from cryptography.hazmat.primitives import serialization

    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == signer.cert.public_key.dump()


def test_qualified_signer_profile() -> None:
    cert = pki.cert("valid_p384")
    assert cert.public_key.curve[1] == "secp384r1"
    assert cert.key_usage_value.native == {"non_repudiation"}
    assert _ext(cert, "2.5.29.15")["critical"].native is True  # type: ignore[index]
    assert _qc_ids(cert) == [
        "0.4.0.1862.1.1", "0.4.0.1862.1.4", "0.4.0.1862.1.6", "1.3.6.1.5.5.7.11.2",
        "0.4.0.1862.1.5",
    ]  # fmt: skip
    assert "0.4.0.194112.1.2" in [
        p["policy_identifier"].dotted for p in cert.certificate_policies_value
    ]
    assert cert.ocsp_urls == ["http://127.0.0.1:48601/lv-test/ocsp/ica-ocsp"]
    assert cert.crl_distribution_points[0]["distribution_point"].native == [
        "http://127.0.0.1:48601/lv-test/crls/ica-crl/latest.crl"
    ]
    ca_issuers = [
        d["access_location"].native
        for d in cert.authority_information_access_value
        if d["access_method"].native == "ca_issuers"
    ]
    assert ca_issuers == ["http://127.0.0.1:48601/lv-test/certs/ica-certs/ca.crt"]


def test_negative_signers_differ_only_where_the_roster_says() -> None:
    assert _qc_ids(pki.cert("not_qualified")) == []
    no_qscd = _qc_ids(pki.cert("no_qscd"))
    assert "0.4.0.1862.1.1" in no_qscd and "0.4.0.1862.1.4" not in no_qscd
    assert "0.4.0.194112.1.2" not in [
        p["policy_identifier"].dotted for p in pki.cert("no_qscd").certificate_policies_value
    ]
    assert pki.cert("no_nonrepudiation").key_usage_value.native == {"digital_signature"}
    assert pki.cert("weak_rsa").public_key.bit_size == 1024
    assert pki.cert("valid_rsa").public_key.bit_size == 3072
    assert pki.cert("no_prefix").subject.native["serial_number"] == "230390-14568"
    assert pki.cert("expired")["tbs_certificate"]["validity"]["not_after"].native.year == 2026
    assert pki.cert("not_yet_valid").not_valid_before.month == 6
    assert pki.cert("untrusted").issuer.native["common_name"] == "TEST Rogue eID ICA"
    assert pki.cert("ocsp_down").ocsp_urls == ["http://127.0.0.1:48609/ocsp"]
    assert pki.cert("withdrawn_ca").issuer.native["common_name"] == "TEST LV eID ICA 2019"


def test_service_certificates() -> None:
    tsa = pki.cert("tsa")
    eku = _ext(tsa, "2.5.29.37")
    assert eku is not None and eku["critical"].native is True
    assert tsa.extended_key_usage_value.native == ["time_stamping"]
    responder = pki.cert("ica_ocsp")
    assert responder.ocsp_no_check_value is not None
    assert responder.extended_key_usage_value.native == ["ocsp_signing"]
    assert pki.cert("tl_operator").extended_key_usage_value.native == ["0.4.0.2231.3.0"]
    for label in ("root", "ica", "legacy_ica", "tsa_ca", "rogue_root", "rogue_ica"):
        assert pki.cert(label).ca is True
        # RSA PKCS#1 v1.5 issuers keep regeneration byte-identical
        assert pki.cert(label)["signature_algorithm"].signature_algo == "rsassa_pkcs1v15"


@pytest.mark.parametrize(
    ("name", "born"),
    [("valid_rsa", date(1985, 7, 14)), ("no_prefix", date(1990, 3, 23)),
     ("underage", date(2009, 11, 20)), ("expired", date(1978, 2, 9))],
)  # fmt: skip
def test_old_format_codes_carry_birth_date_and_check_digit(name: str, born: date) -> None:
    code = pki.cert(name).subject.native["serial_number"].removeprefix("PNOLV-")
    assert code == old_format_code(born, int(code[8:11]))


def test_bad_code_has_a_wrong_check_digit() -> None:
    code = pki.cert("bad_code").subject.native["serial_number"].removeprefix("PNOLV-")
    digits = code.replace("-", "")
    assert check_digit(digits[:10]) != int(digits[10])


def test_check_digit_weights_on_a_worked_example() -> None:
    # 140785-1123?: 1*1+6*4+3*0+7*7+9*8+10*5+5*1+8*1+4*2+2*3 = 223; (1101-223) % 11 = 9
    assert check_digit("1407851123") == 9
    with pytest.raises(ValueError):
        check_digit("14078511a3")


def test_qc_statements_are_valid_der() -> None:
    ext = _ext(pki.cert("valid_rsa"), OID_QC_STATEMENTS)
    assert ext is not None
    parsed = core.load(bytes(ext["extn_value"]))
    assert parsed.dump() == bytes(ext["extn_value"])


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2016, 12, 31)),
    serial=st.integers(min_value=0, max_value=999),
)
def test_generated_old_codes_validate_and_a_changed_digit_does_not(born: date, serial: int) -> None:
    try:
        code = old_format_code(born, serial)
    except ValueError:
        return  # this (birth date, serial) pair has no issuable check digit
    digits = code.replace("-", "")
    assert code[:6] == born.strftime("%d%m%y") and code[7] == str(born.year // 100 - 18)
    assert check_digit(digits[:10]) == int(digits[10])
    assert check_digit(digits[:10]) != int(with_wrong_check_digit(code)[-1])


def test_every_key_is_checked_in_with_its_declared_type() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from certification.testpki._keygen import KEY_TYPES, key_path

    declared = set(KEY_TYPES)
    on_disk = {p.name.removeprefix("TEST-ONLY-").removesuffix(".key.pem")
               for p in key_path("x").parent.glob("*.pem")}  # fmt: skip
    assert on_disk == declared
    for label, kind in KEY_TYPES.items():
        key = pki.private_key(label)
        if kind in ("p256", "p384"):
            curve = {"p256": "secp256r1", "p384": "secp384r1"}[kind]
            assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == curve
        else:
            assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == int(kind[3:])
