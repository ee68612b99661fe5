"""The log's note signer (Ed25519, CKM_EDDSA) and the batch sealer (ECDSA or RSA) in a token.

Both expose what the in-memory versions do (``audit.note.NoteSigner``, ``sigsvc.export.seal.
Sealer``), so checkpoints and seals are byte-for-byte what key files produce and verify offline
the same way. The private key never leaves the token; only its public part is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from audit.note import Signature, Verifier, check_key_name, key_id
from sigsvc.keys.token import Token, TokenError

ED25519_OID = "1.3.101.112"  # RFC 8410 id-Ed25519 (CKA_EC_PARAMS of an Ed25519 key)
ECDSA_SHA256_URI = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA256_URI = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _key(session: Any, label: str, private: bool) -> Any:
    import pkcs11
    from pkcs11 import ObjectClass

    kind = ObjectClass.PRIVATE_KEY if private else ObjectClass.PUBLIC_KEY
    try:
        return session.get_key(object_class=kind, label=label)
    except pkcs11.NoSuchKey:
        raise TokenError(f"no {kind.name.lower()} labelled {label!r} in the token") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f"several keys labelled {label!r} in the token") from None


def _ed25519_public(session: Any, label: str) -> bytes:
    from pkcs11 import Attribute, KeyType

    public = _key(session, label, private=False)
    if public.key_type != KeyType.EC_EDWARDS:
        raise TokenError(f"key {label!r} is not an Edwards-curve key")
    point = bytes(public[Attribute.EC_POINT])
    # CKA_EC_POINT is DER OCTET STRING (04 20 || key) per PKCS#11 3.0; some tokens give it raw.
    if len(point) == 34 and point[:2] == b"\x04\x20":
        point = point[2:]
    if len(point) != 32:
        raise TokenError(f"key {label!r} is not an Ed25519 key")
    return point


@dataclass(frozen=True)
class TokenNoteSigner:
    """An Ed25519 signed-note key in the token; ``name`` is the note key name."""

    token: Token
    label: str
    name: str

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _ = self.public_key  # fail at start, not at the first checkpoint

    @cached_property
    def public_key(self) -> bytes:
        key: bytes = self.token.call(lambda s: _ed25519_public(s, self.label))
        return key

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.public_key)

    def sign(self, text: bytes) -> Signature:
        from pkcs11 import Mechanism

        def run(session: Any) -> bytes:
            return bytes(
                _key(session, self.label, private=True).sign(text, mechanism=Mechanism.EDDSA)
            )

        raw: bytes = self.token.call(run)
        if not self.verifier().verify(text, raw):  # a token fault must not reach a checkpoint
            raise TokenError(f"token key {self.label!r} produced a signature that does not verify")
        return Signature(self.name, self.key_id, raw)


def generate_ed25519(token: Token, label: str) -> None:
    """Generate a non-extractable Ed25519 key pair in the token (refuses an existing label)."""
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    def run(session: Any) -> None:
        if list(
            session.get_objects({Attribute.LABEL: label, Attribute.CLASS: ObjectClass.PRIVATE_KEY})
        ):
            raise TokenError(f"the token already holds a key labelled {label!r}")
        params = session.create_domain_parameters(
            KeyType.EC_EDWARDS,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
            local=True,
        )
        params.generate_keypair(
            store=True,
            label=label,
            private_template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
        )

    token.call(run)


@dataclass(frozen=True)
class TokenSealer:
    """The operator's seal key in the token, with its certificate chain from a PEM file."""

    token: Token
    label: str
    chain: tuple[bytes, ...]  # DER, seal certificate first
    method: str

    @classmethod
    def load(cls, token: Token, label: str, cert_path: str | Path) -> TokenSealer:
        from pkcs11 import KeyType
        from pkcs11.util.ec import encode_ec_public_key
        from pkcs11.util.rsa import encode_rsa_public_key

        try:
            certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        except (OSError, ValueError) as exc:
            raise TokenError(f"cannot read the seal certificate chain: {exc}") from exc

        def public(session: Any) -> tuple[Any, bytes]:
            key = _key(session, label, private=False)
            if key.key_type == KeyType.EC:
                return key.key_type, bytes(encode_ec_public_key(key))
            if key.key_type == KeyType.RSA:
                return key.key_type, bytes(encode_rsa_public_key(key))
            raise TokenError(f"seal key {label!r} must be EC or RSA, not {key.key_type}")

        key_type, token_public = token.call(public)
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        cert_public = certs[0].public_key().public_bytes(*spki)
        if key_type == KeyType.RSA:  # python-pkcs11 encodes RSA as PKCS#1 RSAPublicKey
            cert_public = (
                certs[0]
                .public_key()
                .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
            )
        if cert_public != token_public:
            raise TokenError(f"the first certificate is not the certificate of key {label!r}")
        der = tuple(c.public_bytes(serialization.Encoding.DER) for c in certs)
        method = ECDSA_SHA256_URI if key_type == KeyType.EC else RSA_SHA256_URI
        return cls(token, label, der, method)

    @property
    def certificate_chain(self) -> Sequence[bytes]:
        return self.chain

    @property
    def signature_method(self) -> str:
        return self.method

    def sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism

        # ECDSA: hash here, CKM_ECDSA on the digest (SoftHSM and many HSMs lack CKM_ECDSA_SHA256);
        # it returns r || s, fixed width: the XMLDSig form as is.
        if self.method == ECDSA_SHA256_URI:
            payload, mechanism = hashlib.sha256(data).digest(), Mechanism.ECDSA
        else:
            payload, mechanism = data, Mechanism.SHA256_RSA_PKCS

        def run(session: Any) -> bytes:
            key = _key(session, self.label, private=True)
            return bytes(key.sign(payload, mechanism=mechanism))

        signature: bytes = self.token.call(run)
        return signature
