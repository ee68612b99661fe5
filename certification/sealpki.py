"""A TEST-ONLY operator seal PKI made at test time: seal CA -> seal certificate (P-256).

The operator's seal is not part of the citizens' test PKI (certification/testpki), so the batch
tests and the certification kit (certification/certify/kit.py) make their own, with the fixed
test clock's validity period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOT_BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SealPki:
    ca_der: bytes
    key_pem: bytes
    chain_pem: bytes  # seal certificate, then the CA

    def write(self, directory: Path) -> tuple[Path, Path, Path]:
        """key.pem, chain.pem, ca.der in ``directory``."""
        key, chain, ca = (
            directory / "seal.key.pem",
            directory / "seal.chain.pem",
            directory / "seal-ca.der",
        )
        key.write_bytes(self.key_pem)
        chain.write_bytes(self.chain_pem)
        ca.write_bytes(self.ca_der)
        return key, chain, ca


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "LV"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST sigsvc operator"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_seal_pki(label: str = "TEST") -> SealPki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} batch seal CA"))
        .issuer_name(_name(f"{label} batch seal CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} batch seal"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return SealPki(
        ca_der=ca.public_bytes(serialization.Encoding.DER),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        chain_pem=cert.public_bytes(pem) + ca.public_bytes(pem),
    )


TESTPKI = Path(__file__).parent / "testpki"


def operator_seal_files(directory: Path) -> tuple[Path, Path, Path]:
    """(key, chain, anchor) of the test PKI's operator seal (``operator_seal`` under ``ica``,
    anchor the root): the local OCSP responder answers for it, as XAdES-LT sealing needs."""
    certs = TESTPKI / "generated" / "certs"
    key = directory / "operator_seal.key.pem"
    key.write_bytes((TESTPKI / "test-only-keys" / "TEST-ONLY-operator_seal.key.pem").read_bytes())
    chain = directory / "operator_seal.chain.pem"
    chain.write_bytes((certs / "operator_seal.pem").read_bytes() + (certs / "ica.pem").read_bytes())
    return key, chain, certs / "root.pem"
