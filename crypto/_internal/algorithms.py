"""Algorithm identifiers (XMLDSig URIs, asn1crypto names) and the key/algorithm policy check."""

from __future__ import annotations

import hashlib

from asn1crypto import keys, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from crypto.errors import SignatureInvalid, WeakAlgorithm
from crypto.policy import AlgorithmPolicy

# Digest methods: XMLDSig 1.1 §6.2, RFC 6931 §2.1
DIGEST_URIS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#sha224": "sha224",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
# Signature methods: XMLDSig 1.1 §6.4, RFC 6931 §2.3
SIGNATURE_URIS = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", "sha1"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", "sha512"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": ("ecdsa", "sha1"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ecdsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ecdsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ecdsa", "sha512"),
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1": ("rsapss", "sha256"),
    "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1": ("rsapss", "sha384"),
    "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1": ("rsapss", "sha512"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def check_digest(name: str, policy: AlgorithmPolicy, what: str) -> None:
    if name not in policy.digests:
        raise WeakAlgorithm(f"{what} uses digest {name}")


def check_public_key(key: keys.PublicKeyInfo, policy: AlgorithmPolicy, what: str) -> None:
    """RSA >= policy bits, ECDSA on an allowed named curve, nothing else."""
    algo = key.algorithm
    if algo == "rsa":
        if key.bit_size < policy.min_rsa_bits:
            raise WeakAlgorithm(f"{what} has an RSA key of {key.bit_size} bits")
    elif algo == "ec":
        curve_kind, curve = key.curve
        if curve_kind != "named" or curve not in policy.curves:
            raise WeakAlgorithm(f"{what} has an EC key on {curve}")
    else:
        raise WeakAlgorithm(f"{what} has a {algo} key")


def verify_raw(cert: x509.Certificate, kind: str, hash_name: str, sig: bytes, data: bytes) -> None:
    """Verify an XMLDSig signature value (ECDSA as r||s per RFC 4050/XMLDSig 1.1 §6.4.3)."""
    try:
        pub = load_der_public_key(cert.public_key.dump())
    except ValueError as exc:
        raise SignatureInvalid(f"unusable signer public key: {exc}") from exc
    algo = _HASHES[hash_name]()
    try:
        if kind == "ecdsa":
            if not isinstance(pub, ec.EllipticCurvePublicKey):
                raise SignatureInvalid("ECDSA signature method with a non-EC key")
            size = (pub.curve.key_size + 7) // 8
            if len(sig) != 2 * size:
                raise SignatureInvalid("ECDSA signature value has the wrong length")
            r = int.from_bytes(sig[:size], "big")
            s = int.from_bytes(sig[size:], "big")
            pub.verify(encode_dss_signature(r, s), data, ec.ECDSA(algo))
        elif kind in ("rsa", "rsapss"):
            if not isinstance(pub, rsa.RSAPublicKey):
                raise SignatureInvalid("RSA signature method with a non-RSA key")
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if kind == "rsa"
                else padding.PSS(mgf=padding.MGF1(algo), salt_length=algo.digest_size)
            )
            pub.verify(sig, data, pad, algo)
        else:  # pragma: no cover - SIGNATURE_URIS only holds the kinds above
            raise SignatureInvalid(f"unsupported signature kind {kind}")
    except InvalidSignature as exc:
        raise SignatureInvalid("signature value does not verify") from exc
