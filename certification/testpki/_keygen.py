"""One-time generation of the TEST-ONLY private keys the test PKI is built from.

Keys are random, so they are made once and checked in (``test-only-keys/``); everything else
(certificates, CRL/OCSP/TSA responses, the trusted list) is derived from them and the YAML
deterministically. Run ``python -m certification.testpki._keygen`` to create only missing keys.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

KEY_DIR = Path(__file__).parent / "test-only-keys"

# label -> key type. CA, responder and TL keys are RSA so that their PKCS#1 v1.5 signatures,
# and hence every certificate, CRL and trusted list, are byte-identical on regeneration.
KEY_TYPES: dict[str, str] = {
    "root": "rsa3072",
    "ica": "rsa3072",
    "legacy_ica": "rsa3072",
    "tsa_ca": "rsa3072",
    "tsa": "rsa3072",
    "unlisted_tsa": "rsa2048",
    "ocsp": "rsa2048",
    "tl_operator": "rsa3072",
    "tl_operator_other": "rsa3072",
    "lotl_operator": "rsa3072",
    "rogue_root": "rsa3072",
    "rogue_ica": "rsa3072",
    "valid_p384": "p384",
    "valid_rsa": "rsa3072",
    "no_prefix": "p384",
    "underage": "p384",
    "revoked": "p384",
    "expired": "p384",
    "not_yet_valid": "p384",
    "not_qualified": "p384",
    "no_qscd": "p384",
    "no_nonrepudiation": "p384",
    "weak_rsa": "rsa1024",
    "bad_code": "p384",
    "untrusted": "p384",
    "ocsp_down": "p384",
    "withdrawn_ca": "p384",
    "operator_seal": "p256",  # the operator's batch seal (sigsvc's own e-seal)
    "tsa_archive": "rsa3072",  # a later TSA, for archive time stamps past `tsa`'s expiry
}


def key_path(label: str) -> Path:
    return KEY_DIR / f"TEST-ONLY-{label}.key.pem"


def _generate(kind: str) -> bytes:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "p384":
        key = ec.generate_private_key(ec.SECP384R1())
    elif kind == "p256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(
            public_exponent=65537, key_size=int(kind.removeprefix("rsa"))
        )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def main() -> None:
    KEY_DIR.mkdir(exist_ok=True)
    for label, kind in KEY_TYPES.items():
        path = key_path(label)
        if not path.exists():
            path.write_bytes(_generate(kind))
            print(f"generated {path.name} ({kind})")


if __name__ == "__main__":
    main()
