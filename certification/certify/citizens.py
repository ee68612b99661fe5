"""Fresh TEST citizens for each check: certificates minted under the test PKI's `ica`, and an
OCSP responder for them.

Why: the roster in `pki.yml` has one person per verdict, and a certification run needs many
distinct people (one signature per person per initiative, a per-signer rate limit, personal
codes of both formats with chosen birth dates and deliberate defects). Each minted certificate
copies every extension of the roster signer `valid_p384` (key usage, QC statements, policies)
except the key identifier and the OCSP location, which points at `CitizenOcsp` below: it answers
`good` for every minted serial (or `revoked` for those asked to be), signed by the test PKI's
delegated `ica_ocsp` responder, as of the instant the signer asks for (the test PKI's
`X-Certomancer-Fake-Time` header). No CRL distribution point: OCSP is the only status source.

TEST ONLY: the issuing key is public (certification/testpki/test-only-keys).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID

from certification.testpki import personal_code, pki

TEMPLATE = "valid_p384"
ISSUER = "ica"
OCSP_RESPONDER = "ica_ocsp"
FAKE_TIME_HEADER = "X-Certomancer-Fake-Time"
NOT_BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2030, 1, 1, tzinfo=UTC)
_DROPPED = {
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
}


def old_format_code(born: date, serial: int) -> str:
    """A valid old-format code DDMMYY-CNNNQ for ``born`` (the next serial whose check digit
    exists: one ten-digit head in eleven has none)."""
    for n in range(serial, serial + 20):
        try:
            return personal_code.old_format_code(born, n % 1000)
        except ValueError:
            continue
    raise ValueError("no valid serial")  # pragma: no cover


def new_format_code(prefix: str = "32") -> str:
    """A new-format code ``3X....-.....`` (random digits; no birth date)."""
    digits = prefix + "".join(str(secrets.randbelow(10)) for _ in range(9 - len(prefix) + 2))
    return f"{digits[:6]}-{digits[6:]}"


def random_birth_serial() -> int:
    return secrets.randbelow(1000)


@dataclass
class CitizenOcsp:
    """OCSP for minted citizens, served on 127.0.0.1 (``url``); ``revoked`` maps serial ->
    revocation time."""

    url: str = ""
    revoked: dict[int, datetime] = field(default_factory=dict)

    def answer(self, request_der: bytes, at: datetime) -> bytes:
        request = ocsp.load_der_ocsp_request(request_der)
        responder = x509.load_der_x509_certificate(pki.cert_der(OCSP_RESPONDER))
        revoked_at = self.revoked.get(request.serial_number)
        status = ocsp.OCSPCertStatus.GOOD
        if revoked_at is not None and revoked_at <= at:
            status = ocsp.OCSPCertStatus.REVOKED
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=status,
                this_update=at,
                next_update=at + timedelta(minutes=10),
                revocation_time=revoked_at if status is ocsp.OCSPCertStatus.REVOKED else None,
                revocation_reason=(
                    x509.ReasonFlags.key_compromise
                    if status is ocsp.OCSPCertStatus.REVOKED
                    else None
                ),
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
            .certificates([responder])
        )
        key = pki.signer(OCSP_RESPONDER).key
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


@contextmanager
def serve_citizen_ocsp() -> Iterator[CitizenOcsp]:
    """Start the minted citizens' OCSP responder on a free loopback port."""
    state = CitizenOcsp()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake = self.headers.get(FAKE_TIME_HEADER)
            at = datetime.fromisoformat(fake) if fake else datetime.now(UTC)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            try:
                answer = state.answer(body, at.replace(microsecond=0))
                code = 200
            except ValueError:
                answer, code = b"", 400
            self.send_response(code)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/ocsp"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Citizen:
    given_name: str
    surname: str
    serial_number: str  # the certificate's subject serialNumber, e.g. PNOLV-327811-40213
    signer: pki.Signer

    @property
    def personal_code(self) -> str:
        return self.serial_number.removeprefix("PNOLV-")


def _name(given: str, surname: str, serial_number: str) -> x509.Name:
    return x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)])
            for oid, value in (
                (NameOID.COUNTRY_NAME, "LV"),
                (NameOID.COMMON_NAME, f"{given} {surname}"),
                (NameOID.SURNAME, surname),
                (NameOID.GIVEN_NAME, given),
                (NameOID.SERIAL_NUMBER, serial_number),
            )
        ]
    )


class Mint:
    """Makes TEST citizens whose certificates point at ``ocsp_url``."""

    def __init__(self, ocsp_url: str) -> None:
        self.ocsp_url = ocsp_url
        self.template = x509.load_der_x509_certificate(pki.cert_der(TEMPLATE))
        self.issuer = x509.load_der_x509_certificate(pki.cert_der(ISSUER))
        self.issuer_key = pki.signer(ISSUER).key
        self.chain = pki.signer(TEMPLATE).chain_der
        self._count = 0
        self.codes: list[str] = []  # every personal code minted (C18 searches for them)

    def citizen(
        self,
        given: str,
        surname: str,
        serial_number: str,
        *,
        not_before: datetime = NOT_BEFORE,
        not_after: datetime = NOT_AFTER,
        drop: frozenset[x509.ObjectIdentifier] = frozenset(),
        key_usage: x509.KeyUsage | None = None,
    ) -> Citizen:
        """A certificate like ``valid_p384``'s for this person; ``drop`` removes template
        extensions (e.g. QC statements), ``key_usage`` replaces the key usage."""
        self._count += 1
        self.codes.append(serial_number.removeprefix("PNOLV-"))
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(given, surname, serial_number))
            .issuer_name(self.issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        for ext in self.template.extensions:
            if ext.oid in _DROPPED or ext.oid in drop:
                continue
            value = ext.value
            if ext.oid == ExtensionOID.KEY_USAGE and key_usage is not None:
                value = key_usage
            builder = builder.add_extension(value, ext.critical)
        aia = [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(self.ocsp_url)
            ),
            *(
                d
                for d in self.template.extensions.get_extension_for_class(
                    x509.AuthorityInformationAccess
                ).value
                if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            ),
        ]
        builder = builder.add_extension(x509.AuthorityInformationAccess(aia), critical=False)
        cert = builder.sign(self.issuer_key, hashes.SHA256())  # type: ignore[arg-type]
        signer = pki.Signer(
            name=f"citizen-{self._count}",
            cert_der=cert.public_bytes(serialization.Encoding.DER),
            key=key,
            chain_der=self.chain,
        )
        return Citizen(given, surname, serial_number, signer)


QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
SIGNING_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
