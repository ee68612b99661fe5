"""Named test containers and the verdict each should get: one source for tests, bench, corpus.

Each ``Scenario`` builds a real container with the test PKI (responders must be running) and
names the docs/design.md reject reason it should produce (``None`` = accept) when verified at
``validate_at`` against the test trusted list, for ``initiative``. Reasons marked in ``note``
as a choice are where docs/design.md leaves room; the verifier's tests decide and say so.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from io import BytesIO

from lxml import etree

from crypto.form import InitiativeFields, Regime

from . import clock
from .asice import Entry, replace_entry
from .pades import make_pades
from .sign import FORM_FILENAME, TEST_INITIATIVE, form_for, make_edoc, make_form_edoc
from .xades import DataFile, xades

YOUTH_INITIATIVE = InitiativeFields(
    regime=Regime.SAEIMA_RULES_131_3,
    registration_number="TEST-2026/2",
    title="Kolektīvais iesniegums par testa jautājumu",
    text_sha256=hashlib.sha256(b"TEST ONLY. Kolektivais iesniegums.\n").hexdigest(),
)
OTHER_INITIATIVE = replace(TEST_INITIATIVE, registration_number="TEST-2026/9")


@dataclass(frozen=True)
class Scenario:
    name: str
    reason: str | None  # docs/design.md reason code; None = accept
    build: Callable[[], bytes] = field(repr=False)
    suffix: str = ".edoc"
    initiative: InitiativeFields = TEST_INITIATIVE
    validate_at: datetime = clock.RESPONDER_TIME
    note: str = ""


def _edit_signing_time(signature: etree._Element) -> None:
    element = signature.find(f".//{xades('SigningTime')}")
    assert element is not None
    element.text = "2026-03-01T10:00:00Z"


def _with_doctype(container: bytes) -> bytes:
    name = "META-INF/edoc-signatures-S1.xml"
    xml = zipfile.ZipFile(BytesIO(container)).read(name)
    declaration, _, rest = xml.partition(b"\n")
    laughs = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return replace_entry(container, name, declaration + b"\n" + laughs + b"\n" + rest)


def _form(signer: str) -> Callable[[], bytes]:
    return lambda: make_form_edoc(signer)


def scenarios() -> list[Scenario]:
    s = Scenario
    form_p384 = form_for("valid_p384")
    return [
        # --- accepted ---
        s("valid_p384_T", None, _form("valid_p384")),
        s("valid_p384_LT", None, lambda: make_form_edoc("valid_p384", level="LT")),
        s("valid_rsa_T", None, _form("valid_rsa")),
        s("no_prefix_T", None, _form("no_prefix"), note="serialNumber without PNOLV-"),
        s(
            "underage_16plus_regime",
            None,
            lambda: make_form_edoc("underage", initiative=YOUTH_INITIATIVE),
            initiative=YOUTH_INITIATIVE,
            note="16 years old; Saeima Rules 131^3 needs 16+",
        ),
        s(
            "valid_p384_pades_T",
            None,
            lambda: make_pades(form_p384, "valid_p384"),
            suffix=".pdf",
            note="choice: the form is the PDF's attachment paraksta-veidlapa.txt; a verifier "
            "that binds the whole PDF instead says DOCUMENT_MISMATCH",
        ),
        # --- one per reject reason (single signature) ---
        s("underage_T", "UNDERAGE", _form("underage")),
        s("revoked_T", "CERT_REVOKED", _form("revoked")),
        s("revoked_LT", "CERT_REVOKED", lambda: make_form_edoc("revoked", level="LT")),
        s("expired_T", "CERT_EXPIRED", _form("expired")),
        s("not_yet_valid_T", "CERT_NOT_YET_VALID", _form("not_yet_valid")),
        s("not_qualified_T", "NOT_QUALIFIED", _form("not_qualified")),
        s("no_qscd_T", "NOT_QUALIFIED", _form("no_qscd")),
        s("withdrawn_ca_T", "NOT_QUALIFIED", _form("withdrawn_ca"), note="service withdrawn"),
        s("no_nonrepudiation_T", "KEY_USAGE", _form("no_nonrepudiation")),
        s("weak_rsa_T", "WEAK_ALGORITHM", _form("weak_rsa")),
        s("sha1_T", "WEAK_ALGORITHM", lambda: make_form_edoc("valid_rsa", digest="sha1")),
        s("bad_code_T", "INVALID_PERSONAL_CODE", _form("bad_code")),
        s("untrusted_T", "UNTRUSTED_CHAIN", _form("untrusted")),
        s("ocsp_down_T", "REVOCATION_UNAVAILABLE", _form("ocsp_down")),
        s("no_timestamp_B", "NO_TIMESTAMP", lambda: make_form_edoc("valid_p384", level="B")),
        s(
            "timestamp_over_other_data",
            "TIMESTAMP_INVALID",
            lambda: make_form_edoc("valid_p384", timestamp_over=b"other"),
        ),
        s(
            "timestamp_unlisted_tsa",
            "TIMESTAMP_INVALID",
            lambda: make_form_edoc("valid_p384", tsa="unlisted-tsa"),
            note="choice: TIMESTAMP_INVALID (time stamp not qualified)",
        ),
        s(
            "tampered_signing_time",
            "SIGNATURE_INVALID",
            lambda: make_form_edoc("valid_p384", after_sign=_edit_signing_time),
        ),
        s(
            "signing_certificate_of_other_signer",
            "SIGNATURE_INVALID",
            lambda: make_form_edoc("valid_p384", signing_certificate="valid_rsa"),
        ),
        s(
            "tampered_data_file",
            "SIGNATURE_INVALID",
            lambda: replace_entry(
                make_form_edoc("valid_p384"),
                FORM_FILENAME,
                form_p384.replace("OZOLIŅA".encode(), b"OZOLINA"),
            ),
            note="choice: SIGNATURE_INVALID (reference digest) before DOCUMENT_MISMATCH",
        ),
        s(
            "identity_mismatch",
            "IDENTITY_MISMATCH",
            lambda: make_edoc(form_for("valid_rsa"), FORM_FILENAME, "valid_p384"),
        ),
        s(
            "form_of_other_initiative",
            "DOCUMENT_MISMATCH",
            lambda: make_form_edoc("valid_p384", initiative=OTHER_INITIATIVE),
        ),
        s(
            "form_date_too_old",
            "DOCUMENT_MISMATCH",
            lambda: make_form_edoc("valid_p384", signing_date=date(2026, 2, 27)),
            note="form date 3 days before the time stamp",
        ),
        s(
            "two_signature_files",
            "MULTIPLE_SIGNATURES",
            lambda: make_form_edoc("valid_p384", extra_signers=["valid_rsa"]),
        ),
        s(
            "two_signatures_one_file",
            "MULTIPLE_SIGNATURES",
            lambda: make_form_edoc(
                "valid_p384", extra_signers=["valid_rsa"], signatures_in_one_file=True
            ),
        ),
        s(
            "two_data_files",
            "MALFORMED_CONTAINER",
            lambda: make_form_edoc("valid_p384", extra_files=[DataFile("b.txt", b"x\n")]),
            note="choice: exactly one data file is a container rule",
        ),
        s(
            "no_mimetype",
            "MALFORMED_CONTAINER",
            lambda: make_form_edoc("valid_p384", include_mimetype=False),
        ),
        s(
            "mimetype_last",
            "MALFORMED_CONTAINER",
            lambda: make_form_edoc("valid_p384", mimetype_first=False),
        ),
        s(
            "path_traversal_entry",
            "UNSAFE_INPUT",
            lambda: make_form_edoc("valid_p384", extra_entries=[Entry("../evil.txt", b"x")]),
        ),
        s(
            "dtd_in_signature_xml",
            "UNSAFE_INPUT",
            lambda: _with_doctype(make_form_edoc("valid_p384")),
        ),
        s("not_a_container", "UNSUPPORTED_FORMAT", lambda: b"%!PS-Adobe-3.0\nnot a signature\n"),
    ]


def by_name() -> dict[str, Scenario]:
    return {scenario.name: scenario for scenario in scenarios()}
