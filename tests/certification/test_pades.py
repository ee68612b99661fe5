"""PAdES made by certification.testpki.pades, checked with pyHanko's own validator."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from certification.testpki import RESPONDER_TIME, form_for, pki
from certification.testpki.clock import SIGNING_TIME, TIMESTAMP_TIME
from certification.testpki.pades import make_pades

pytestmark = pytest.mark.usefixtures("responders")


def _context() -> ValidationContext:
    return ValidationContext(
        trust_roots=[pki.cert("root")],
        allow_fetching=False,
        moment=RESPONDER_TIME,
        revocation_mode="soft-fail",
    )


@pytest.mark.parametrize("level", ["B", "T", "LT"])
def test_pades_signature_is_intact_and_carries_the_form(level: str) -> None:
    form = form_for("valid_p384")
    reader = PdfFileReader(BytesIO(make_pades(form, "valid_p384", level=level)))
    (embedded,) = reader.embedded_signatures
    status = validate_pdf_signature(embedded, signer_validation_context=_context(),
                                    ts_validation_context=_context())  # fmt: skip
    assert status.intact and status.valid
    assert status.signing_cert.dump() == pki.cert_der("valid_p384")
    assert embedded.self_reported_timestamp == SIGNING_TIME
    if level == "B":
        assert status.timestamp_validity is None
    else:
        assert status.timestamp_validity is not None and status.timestamp_validity.valid
        assert status.timestamp_validity.timestamp == TIMESTAMP_TIME
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == "paraksta-veidlapa.txt"
    assert names[1]["/EF"]["/F"].data == form
    assert ("/DSS" in reader.root) == (level == "LT")
    if level == "LT":
        assert len(reader.root["/DSS"]["/OCSPs"]) >= 1
