"""SSRF (issue 9): for a certificate that does not chain to a listed CA, nothing is fetched.

A signer certificate from an unknown CA names a loopback listener as its caIssuers, OCSP and
CRL location. The fetcher here is the real one with the test setting that allows private
addresses (as the test responders need), so only the verifier's own rule can keep it away:
the listener must see no connection at all, and the verdict is UNTRUSTED_CHAIN.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from certification.testpki import Responders
from certification.testpki.pki import Signer
from certification.testpki.sign import make_form_edoc
from crypto import Reason, Verdict


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A raw TCP listener on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def _untrusted_signer(base: str) -> Signer:
    issuer_key = ec.generate_private_key(ec.SECP384R1())
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ANDRIS PARAUGS"),
            x509.NameAttribute(NameOID.SURNAME, "PARAUGS"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "ANDRIS"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "PNOLV-321234-56789"),
        ]
    )
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unknown ICA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base}/ca.crt"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{base}/ocsp"),
                    ),
                ]
            ),
            False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"{base}/ca.crl")], None, None, None
                    )
                ]
            ),
            False,
        )
        .sign(issuer_key, hashes.SHA384())
    )
    return Signer("untrusted", cert.public_bytes(Encoding.DER), key, ())


def test_untrusted_certificate_urls_are_never_fetched(
    check: Callable[..., Verdict], responders: Responders, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    for base in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        container = make_form_edoc(_untrusted_signer(base), level="T")
        verdict = check(container)  # live fetcher, private addresses allowed (test setting)
        assert verdict.reason is Reason.UNTRUSTED_CHAIN, verdict.message
    assert seen == []
