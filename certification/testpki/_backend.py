"""A faster certomancer crypto backend: keys parsed once, our own RSA keys not re-validated.

certomancer's default backend re-parses (and, for RSA, re-validates) the issuer key for every
signature, ~0.1 s each; with ~30 certificates and an OCSP signature per request that dominates
test time. The keys are this repository's TEST-ONLY keys, so skipping validation is safe.
"""

from __future__ import annotations

import functools

from asn1crypto import algos, keys
from certomancer import crypto_utils
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


@functools.lru_cache(maxsize=128)
def load_der_key(der: bytes) -> PrivateKeyTypes:
    return serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)


class CachingBackend(crypto_utils.PycaCryptographyBackend):
    def load_private_key(
        self, key_bytes: bytes, password: bytes | None
    ) -> tuple[keys.PrivateKeyInfo, keys.PublicKeyInfo]:
        loader = (
            serialization.load_pem_private_key
            if key_bytes.lstrip().startswith(b"-----")
            else serialization.load_der_private_key
        )
        key = loader(key_bytes, password, unsafe_skip_rsa_key_validation=True)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return keys.PrivateKeyInfo.load(der), keys.PublicKeyInfo.load(public)

    def generic_sign(
        self,
        private_key: keys.PrivateKeyInfo,
        tbs_bytes: bytes,
        sd_algo: algos.SignedDigestAlgorithm,
    ) -> bytes:
        key = load_der_key(private_key.dump())
        algorithm = getattr(hashes, sd_algo.hash_algo.upper())()
        if isinstance(key, rsa.RSAPrivateKey) and sd_algo.signature_algo == "rsassa_pkcs1v15":
            return key.sign(tbs_bytes, padding.PKCS1v15(), algorithm)
        if isinstance(key, ec.EllipticCurvePrivateKey) and sd_algo.signature_algo == "ecdsa":
            return key.sign(tbs_bytes, ec.ECDSA(algorithm))
        return super().generic_sign(private_key, tbs_bytes, sd_algo)


def install() -> None:
    crypto_utils.CRYPTO_BACKEND = CachingBackend()
