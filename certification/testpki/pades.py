# mypy: disable-error-code="no-untyped-call"
"""PAdES signatures with pyHanko over a small PDF that carries the form as an attachment.

The PDF has one page pointing at the attachment and the form v1 bytes embedded as
``paraksta-veidlapa.txt`` (the verifier compares that file with the expected form). PAdES
baseline B-B / B-T (signature time stamp from the local TSA) / B-LT (plus DSS with OCSP and
certificates, fetched from the local responders over HTTP).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any, Literal

from asn1crypto import keys, x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import clock, pki
from .pki import Signer
from .responders import Responders, time_header
from .sign import FORM_FILENAME, TIMESTAMP_DELAY

PadesLevel = Literal["B", "T", "LT"]


def form_pdf(
    form: bytes, *, filename: str = FORM_FILENAME, created: datetime = clock.SIGNING_TIME
) -> bytes:
    """An unsigned one-page PDF with ``form`` attached as ``filename`` (text/plain)."""
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    text = f"TEST ONLY. Signature form attached: {filename}".encode("ascii")
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 11 Tf 56 780 Td (" + text + b") Tj ET")
    )
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 595, 842)]
            ),
            generic.pdf_name("/Resources"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Font"): generic.DictionaryObject(
                        {generic.pdf_name("/F1"): font}
                    )
                }
            ),
            generic.pdf_name("/Contents"): content,
        }
    )
    writer.insert_page(page)
    params = EmbeddedFileParams(creation_date=created, modification_date=created)
    data = EmbeddedFileObject.from_file_data(writer, form, params=params, mime_type="text/plain")
    embed_file(writer, FileSpec(file_spec_string=filename, file_name=filename, embedded_data=data))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


class _FixedTimeSigner(signers.PdfSigner):
    """PdfSigner whose /M signing time is a parameter instead of the wall clock."""

    def __init__(self, *args: Any, system_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._system_time = system_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._system_time
        return session


def _asn1_key(key: object) -> keys.PrivateKeyInfo:
    der = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return keys.PrivateKeyInfo.load(der)


def make_pades(
    form: bytes,
    signer: Signer | str,
    *,
    level: PadesLevel = "T",
    signing_time: datetime = clock.SIGNING_TIME,
    digest: str = "sha256",
    pdf: bytes | None = None,
    tsa: str = "tsa",
    responders: Responders | None = None,
) -> bytes:
    """A PAdES-B-``level`` signed PDF; ``pdf`` defaults to ``form_pdf(form)``."""
    person = pki.signer(signer) if isinstance(signer, str) else signer
    responders = responders or Responders()
    chain = [x509.Certificate.load(der) for der in person.chain_der]
    simple = signers.SimpleSigner(
        signing_cert=person.cert,
        signing_key=_asn1_key(person.key),
        cert_registry=SimpleCertificateStore.from_certs([person.cert, *chain]),
    )
    timestamper = None
    if level in ("T", "LT"):
        timestamper = HTTPTimeStamper(
            responders.tsa_url_for(tsa), headers=time_header(signing_time + TIMESTAMP_DELAY)
        )
    validation_context = None
    if level == "LT":
        validation_context = ValidationContext(
            trust_roots=[pki.cert("root"), pki.cert("tsa_ca")],
            other_certs=chain,
            allow_fetching=True,
            moment=clock.RESPONDER_TIME,
            revocation_mode="hard-fail",
        )
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1",
        md_algorithm=digest,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=level == "LT",
        validation_context=validation_context,
    )
    pdf_signer = _FixedTimeSigner(
        meta, signer=simple, timestamper=timestamper, system_time=signing_time
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf if pdf is not None else form_pdf(form)))
    out = pdf_signer.sign_pdf(writer)
    return bytes(out.getvalue())
