"""One test per docs/design.md reason code that concerns a single signature, each from a real
container made by the test PKI's signing code against the real local responders."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pytest

from certification.testpki import DataFile, clock, form_for, make_edoc, make_form_edoc
from certification.testpki.asice import Entry
from certification.testpki.sign import FORM_FILENAME, TEST_INITIATIVE
from crypto import Indication, Policy, Reason, SizeLimits, SubIndication
from crypto.form import InitiativeFields, Regime

FORM_POLICY = Policy(
    initiative=TEST_INITIATIVE, period_start=clock.PERIOD_START, period_end=clock.PERIOD_END
)


@pytest.mark.parametrize(
    ("signer", "level"), [("valid_p384", "T"), ("valid_p384", "LT"), ("valid_rsa", "T")]
)
def test_accept(check, signer: str, level: str) -> None:
    v = check(make_form_edoc(signer, level=level), FORM_POLICY)
    assert v.verdict == "accept", v.message
    assert v.reason is None and v.indication is Indication.TOTAL_PASSED
    assert v.level == f"XAdES-BASELINE-{level}"
    assert v.trust_source == "trusted-list"
    assert v.signing_time == clock.TIMESTAMP_TIME
    assert v.evidence.timestamp_token and v.evidence.ocsp_responses and v.evidence.chain


def test_accept_names_signer_with_two_given_names(check) -> None:
    v = check(make_form_edoc("valid_rsa"), FORM_POLICY)
    assert v.signer is not None
    assert (v.signer.given_name, v.signer.surname) == ("JĀNIS ROBERTS", "BĒRZIŅŠ")
    assert v.signer.personal_code == "140785-11239"
    assert v.signer.birth_date == date(1985, 7, 14)


def test_accept_old_certificate_without_prefix(check) -> None:
    v = check(make_form_edoc("no_prefix"), FORM_POLICY)
    assert v.verdict == "accept", v.message
    assert v.signer is not None and v.signer.personal_code == "230390-14568"


def test_accept_form_dated_the_day_before(check) -> None:
    v = check(
        make_form_edoc("valid_p384", signing_date=clock.SIGNING_DATE - timedelta(days=1)),
        FORM_POLICY,
    )
    assert v.verdict == "accept", v.message


def _reason(check, container: bytes, policy: Policy = FORM_POLICY, **kw: object) -> Reason | None:
    v = check(container, policy, **kw)
    assert v.verdict == "reject"
    return v.reason


def test_malformed_container(check) -> None:
    assert (
        _reason(check, make_form_edoc("valid_p384", include_mimetype=False))
        is Reason.MALFORMED_CONTAINER
    )
    assert (
        _reason(check, make_form_edoc("valid_p384", mimetype_first=False))
        is Reason.MALFORMED_CONTAINER
    )
    assert (
        _reason(check, make_form_edoc("valid_p384", mimetype_stored=False))
        is Reason.MALFORMED_CONTAINER
    )
    assert (
        _reason(check, make_form_edoc("valid_p384", include_manifest=False))
        is Reason.MALFORMED_CONTAINER
    )
    two = make_form_edoc("valid_p384", extra_files=[DataFile("second.txt", b"x\n", "text/plain")])
    assert _reason(check, two) is Reason.MALFORMED_CONTAINER


def test_unsafe_input(check) -> None:
    traversal = make_form_edoc("valid_p384", extra_entries=[Entry("../x", b"")])
    assert _reason(check, traversal) is Reason.UNSAFE_INPUT
    with warnings.catch_warnings():  # zipfile warns about the duplicate we want
        warnings.simplefilter("ignore")
        duplicate = make_form_edoc("valid_p384", extra_entries=[Entry(FORM_FILENAME, b"other")])
    assert _reason(check, duplicate) is Reason.UNSAFE_INPUT


def test_too_large(check) -> None:
    container = make_form_edoc("valid_p384")
    small = Policy(
        initiative=TEST_INITIATIVE, limits=SizeLimits(max_container_bytes=len(container) - 1)
    )
    assert _reason(check, container, small) is Reason.TOO_LARGE


def test_unsupported_format(check) -> None:
    container = make_form_edoc("valid_p384")
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(container)) as zf:
        signature_xml = zf.read("META-INF/edoc-signatures-S1.xml")
    assert _reason(check, signature_xml) is Reason.UNSUPPORTED_FORMAT  # bare XAdES, no container


def test_multiple_signatures(check) -> None:
    files = make_form_edoc("valid_p384", extra_signers=["valid_rsa"])
    assert _reason(check, files) is Reason.MULTIPLE_SIGNATURES
    one_file = make_form_edoc(
        "valid_p384", extra_signers=["valid_rsa"], signatures_in_one_file=True
    )
    assert _reason(check, one_file) is Reason.MULTIPLE_SIGNATURES


def test_signature_invalid_signing_certificate_binding(check) -> None:
    container = make_form_edoc("valid_p384", signing_certificate="valid_rsa")
    assert _reason(check, container) is Reason.SIGNATURE_INVALID


def test_document_mismatch(check) -> None:
    month_ago = make_form_edoc("valid_p384", signing_date=date(2026, 2, 1))
    assert _reason(check, month_ago) is Reason.DOCUMENT_MISMATCH
    other = InitiativeFields(Regime.ART22_BILL, "TEST-2026/2", "Cits likumprojekts", "0" * 64)
    assert (
        _reason(check, make_form_edoc("valid_p384", initiative=other)) is Reason.DOCUMENT_MISMATCH
    )
    expected = Policy(expected_form=form_for("valid_p384") + b"x")
    assert _reason(check, make_form_edoc("valid_p384"), expected) is Reason.DOCUMENT_MISMATCH


def test_identity_mismatch(check) -> None:
    container = make_edoc(form_for("valid_rsa"), FORM_FILENAME, "valid_p384")
    assert _reason(check, container) is Reason.IDENTITY_MISMATCH
    expected = Policy(expected_form=form_for("valid_rsa"))
    assert _reason(check, container, expected) is Reason.IDENTITY_MISMATCH


def test_untrusted_chain(check) -> None:
    v = check(make_form_edoc("untrusted"), FORM_POLICY)
    assert v.reason is Reason.UNTRUSTED_CHAIN
    assert v.indication is Indication.INDETERMINATE
    assert v.subindication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


@pytest.mark.parametrize("signer", ["not_qualified", "no_qscd", "withdrawn_ca"])
def test_not_qualified(check, signer: str) -> None:
    assert _reason(check, make_form_edoc(signer)) is Reason.NOT_QUALIFIED


def test_key_usage(check) -> None:
    assert _reason(check, make_form_edoc("no_nonrepudiation")) is Reason.KEY_USAGE


def test_weak_algorithm(check) -> None:
    assert _reason(check, make_form_edoc("weak_rsa")) is Reason.WEAK_ALGORITHM
    assert _reason(check, make_form_edoc("valid_p384", digest="sha1")) is Reason.WEAK_ALGORITHM


def test_cert_expired(check) -> None:
    v = check(make_form_edoc("expired"), FORM_POLICY)
    assert v.reason is Reason.CERT_EXPIRED and v.subindication is SubIndication.EXPIRED


def test_cert_not_yet_valid(check) -> None:
    assert _reason(check, make_form_edoc("not_yet_valid")) is Reason.CERT_NOT_YET_VALID


@pytest.mark.parametrize("level", ["T", "LT"])
def test_cert_revoked(check, level: str) -> None:
    v = check(make_form_edoc("revoked", level=level), FORM_POLICY)
    assert v.reason is Reason.CERT_REVOKED and v.indication is Indication.TOTAL_FAILED


def test_revocation_unavailable(check) -> None:
    v = check(make_form_edoc("ocsp_down"), FORM_POLICY)
    assert v.reason is Reason.REVOCATION_UNAVAILABLE
    assert v.subindication is SubIndication.TRY_LATER
    offline = check(make_form_edoc("valid_p384"), FORM_POLICY, offline=True)
    assert offline.reason is Reason.REVOCATION_UNAVAILABLE


def test_no_timestamp(check) -> None:
    v = check(make_form_edoc("valid_p384", level="B"), FORM_POLICY)
    assert v.reason is Reason.NO_TIMESTAMP and v.level == "XAdES-BASELINE-B"


def test_outside_period(check) -> None:
    late = Policy(
        initiative=TEST_INITIATIVE, period_start=clock.TIMESTAMP_TIME + timedelta(seconds=1)
    )
    assert _reason(check, make_form_edoc("valid_p384"), late) is Reason.OUTSIDE_PERIOD
    early = Policy(initiative=TEST_INITIATIVE, period_end=clock.TIMESTAMP_TIME)
    assert _reason(check, make_form_edoc("valid_p384"), early) is Reason.OUTSIDE_PERIOD


def test_underage(check) -> None:
    assert _reason(check, make_form_edoc("underage")) is Reason.UNDERAGE
    collective = InitiativeFields(Regime.SAEIMA_RULES_131_3, "TEST-2026/3", "Kolektīvs", "1" * 64)
    ok = check(make_form_edoc("underage", initiative=collective), Policy(initiative=collective))
    assert ok.verdict == "accept", ok.message


def test_age_of_new_format_code_is_left_to_cvk(check) -> None:
    v = check(make_form_edoc("valid_p384"), FORM_POLICY)
    assert v.verdict == "accept"
    assert any("CVK" in w for w in v.warnings)


def test_invalid_personal_code(check) -> None:
    assert _reason(check, make_form_edoc("bad_code")) is Reason.INVALID_PERSONAL_CODE
