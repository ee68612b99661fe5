"""Make real signed containers with the test PKI: ``.edoc`` (ASiC-E + XAdES) and PAdES.

Time stamps and OCSP responses come from the local responders over real HTTP, so the
responders must be running (``serve_responders()``). Times default to the fixed test clock:
SigningTime = ``signing_time``, the time stamp 5 s later, the OCSP response (LT) 10 s later
(= ``clock.RESPONDER_TIME`` with the defaults, which is also what the responders answer as of
when a verifier fetches OCSP live).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import Literal

from asn1crypto import x509

from crypto.form import FormKind, InitiativeFields, Regime, SignerFields, render_form

from . import clients, clock, pki
from .asice import Entry, build_asice
from .pki import Signer
from .responders import TSA_CERTS, Responders
from .xades import (
    C14N_11,
    DataFile,
    Hook,
    add_archive_timestamp,
    add_signature_timestamp,
    add_validation_data,
    archive_timestamp_input,
    build_signature,
    new_signatures_document,
    serialize,
    signature_value_c14n,
)

Level = Literal["B", "T", "LT", "LTA"]
TIMESTAMP_DELAY = timedelta(seconds=5)
OCSP_DELAY = timedelta(seconds=10)
ARCHIVE_DELAY = timedelta(seconds=20)
FORM_FILENAME = "paraksta-veidlapa.txt"
SIGNATURE_FILENAME = "META-INF/edoc-signatures-S{n}.xml"

TEST_INITIATIVE_TEXT = "TEST ONLY. Likumprojekts “Grozījumi Testa likumā”.\n".encode()
TEST_INITIATIVE = InitiativeFields(
    regime=Regime.ART22_BILL,
    registration_number="TEST-2026/1",
    title="Grozījumi Testa likumā",
    text_sha256=sha256(TEST_INITIATIVE_TEXT).hexdigest(),
)


def _signer(signer: Signer | str) -> Signer:
    return pki.signer(signer) if isinstance(signer, str) else signer


@dataclass(frozen=True)
class Identity:
    """What a signer's certificate says about the person (as the form must repeat it)."""

    given_name: str
    surname: str
    serial_number: str  # subject serialNumber as is, e.g. "PNOLV-327811-40213"

    @property
    def personal_code(self) -> str:
        return self.serial_number.removeprefix("PNOLV-")


def identity(signer: Signer | str) -> Identity:
    subject = _signer(signer).cert.subject.native
    return Identity(subject["given_name"], subject["surname"], subject["serial_number"])


def form_for(
    signer: Signer | str,
    *,
    initiative: InitiativeFields = TEST_INITIATIVE,
    signing_date: date = clock.SIGNING_DATE,
    kind: FormKind = FormKind.SIGNATURE,
) -> bytes:
    """Form v1 bytes for ``signer`` (identity from its certificate) via crypto.form."""
    who = identity(signer)
    fields = SignerFields(who.given_name, who.surname, who.personal_code, signing_date)
    return render_form(initiative, fields, kind)


def signature_document(
    files: Sequence[DataFile],
    signers: Sequence[Signer | str],
    *,
    level: Level = "T",
    signing_time: datetime = clock.SIGNING_TIME,
    digest: str = "sha256",
    c14n: str = C14N_11,
    first_id: int = 1,
    signing_certificate: Signer | str | None = None,
    before_sign: Hook | None = None,
    after_sign: Hook | None = None,
    timestamp_at: datetime | None = None,
    timestamp_over: bytes | None = None,
    ocsp_at: datetime | None = None,
    tsa: str = "tsa",
    wrap_base64: int | None = None,
    responders: Responders | None = None,
    archive_at: datetime | None = None,
    archive_tsa: str = "tsa",
) -> bytes:
    """One ``asic:XAdESSignatures`` file holding one ds:Signature per signer (ids S1, S2, ...).

    ``timestamp_at``/``ocsp_at`` move the TSA's genTime / the OCSP producedAt (defaults:
    signing_time + 5 s / + 10 s); ``timestamp_over`` time-stamps other bytes than the canonical
    SignatureValue (an invalid signature time stamp); ``tsa="unlisted-tsa"`` asks a TSA that is
    not a QTST service on the trusted list. ``level="LTA"``: LT plus an xades141:ArchiveTimeStamp
    from ``archive_tsa`` at ``archive_at`` (default signing_time + 20 s), added after
    ``after_sign`` so that it covers any edit made there.
    """
    responders = responders or Responders()
    root = new_signatures_document()
    bound = _signer(signing_certificate).cert_der if signing_certificate is not None else None
    for offset, who in enumerate(signers):
        person = _signer(who)
        signature = build_signature(
            root,
            files,
            person.cert_der,
            person.key,
            signature_id=f"S{first_id + offset}",
            signing_time=signing_time,
            digest=digest,
            c14n=c14n,
            signing_certificate_der=bound,
            before_sign=before_sign,
            wrap=wrap_base64,
        )
        if level in ("T", "LT", "LTA"):
            stamped = timestamp_over or signature_value_c14n(signature, c14n)
            token = clients.fetch_timestamp(
                stamped,
                responders.tsa_url_for(tsa),
                at=timestamp_at or signing_time + TIMESTAMP_DELAY,
            )
            add_signature_timestamp(signature, token, c14n, wrap_base64)
        if level in ("LT", "LTA"):
            # Everything needed to validate later without fetching (EN 319 132-1 B-LT): the
            # signer's issuing CA and OCSP, and the time-stamping unit's CA and OCSP. Roots
            # come from the trusted list (or a test anchor), as in eParaksts output.
            at = ocsp_at or signing_time + OCSP_DELAY
            issuer = x509.Certificate.load(person.chain_der[0])
            tsu = pki.signer(TSA_CERTS[tsa])
            tsu_issuer = x509.Certificate.load(tsu.chain_der[0])
            responses = [
                clients.fetch_ocsp(person.cert, issuer, at=at),
                clients.fetch_ocsp(tsu.cert, tsu_issuer, at=at),
            ]
            certs = [*person.chain_der, tsu.chain_der[0]]
            add_validation_data(signature, certs, responses, wrap_base64)
        if after_sign is not None:
            after_sign(signature)
        if level == "LTA":
            covered = archive_timestamp_input(signature, [(f.name, f.data) for f in files], c14n)
            token = clients.fetch_timestamp(
                covered,
                responders.tsa_url_for(archive_tsa),
                at=archive_at or signing_time + ARCHIVE_DELAY,
            )
            add_archive_timestamp(signature, token, c14n, wrap_base64)
    return serialize(root)


def make_edoc(
    data: bytes,
    filename: str,
    signer: Signer | str,
    *,
    level: Level = "T",
    signing_time: datetime = clock.SIGNING_TIME,
    digest: str = "sha256",
    c14n: str = C14N_11,
    mime_type: str = "text/plain",
    extra_files: Sequence[DataFile] = (),
    extra_signers: Sequence[Signer | str] = (),
    signatures_in_one_file: bool = False,
    signing_certificate: Signer | str | None = None,
    before_sign: Hook | None = None,
    after_sign: Hook | None = None,
    timestamp_at: datetime | None = None,
    timestamp_over: bytes | None = None,
    ocsp_at: datetime | None = None,
    tsa: str = "tsa",
    wrap_base64: int | None = None,
    extra_entries: Sequence[Entry] = (),
    include_mimetype: bool = True,
    mimetype_first: bool = True,
    mimetype_stored: bool = True,
    include_manifest: bool = True,
    responders: Responders | None = None,
    archive_at: datetime | None = None,
    archive_tsa: str = "tsa",
) -> bytes:
    """A signed Latvian ``.edoc`` (ASiC-E, XAdES-B-``level``) over ``data`` named ``filename``.

    Negative-test knobs: ``digest`` ("sha1" for WEAK_ALGORITHM), ``extra_files`` (two data
    files), ``extra_signers`` (two signatures: separate ``edoc-signatures-S2.xml`` or, with
    ``signatures_in_one_file``, two ds:Signature in one file), ``signing_certificate`` (bind
    SigningCertificateV2 to another certificate), ``before_sign``/``after_sign`` hooks on each
    ds:Signature element (edit signed content / tamper after signing), ``timestamp_at``,
    ``timestamp_over``, ``ocsp_at`` and ``tsa`` (see signature_document), ``wrap_base64=60``
    (base64 in lines of 60 plus newline, like the DEMO eID sample's tool), ZIP layout switches and
    ``extra_entries`` (see asice.build_asice).
    """
    files = [DataFile(filename, data, mime_type), *extra_files]
    everyone = [signer, *extra_signers]
    common = {
        "level": level,
        "signing_time": signing_time,
        "digest": digest,
        "c14n": c14n,
        "signing_certificate": signing_certificate,
        "before_sign": before_sign,
        "after_sign": after_sign,
        "timestamp_at": timestamp_at,
        "timestamp_over": timestamp_over,
        "ocsp_at": ocsp_at,
        "tsa": tsa,
        "wrap_base64": wrap_base64,
        "responders": responders,
        "archive_at": archive_at,
        "archive_tsa": archive_tsa,
    }
    if signatures_in_one_file:
        signature_files = [
            (SIGNATURE_FILENAME.format(n=1), signature_document(files, everyone, **common))  # type: ignore[arg-type]
        ]
    else:
        signature_files = [
            (
                SIGNATURE_FILENAME.format(n=n),
                signature_document(files, [who], first_id=n, **common),  # type: ignore[arg-type]
            )
            for n, who in enumerate(everyone, start=1)
        ]
    return build_asice(
        files,
        signature_files,
        date_time=signing_time,
        include_mimetype=include_mimetype,
        mimetype_first=mimetype_first,
        mimetype_stored=mimetype_stored,
        include_manifest=include_manifest,
        extra_entries=extra_entries,
    )


def make_form_edoc(
    signer: Signer | str,
    *,
    initiative: InitiativeFields = TEST_INITIATIVE,
    signing_date: date = clock.SIGNING_DATE,
    level: Level = "T",
    **options: object,
) -> bytes:
    """The common case: ``signer`` signs their own form v1 for ``initiative``."""
    form = form_for(signer, initiative=initiative, signing_date=signing_date)
    return make_edoc(form, FORM_FILENAME, signer, level=level, **options)  # type: ignore[arg-type]
