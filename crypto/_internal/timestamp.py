"""RFC 3161 signature time stamp: imprint, CMS signature, ESS binding, TSA certificate.

Trust in the TSA (a granted QTST on the trusted list at genTime) is decided by the TrustStore;
this module establishes that the token is intact and names its TSA certificate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, parser, tsp, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from crypto._internal import algorithms
from crypto.errors import TimestampInvalid, WeakAlgorithm
from crypto.policy import AlgorithmPolicy

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


_MAX_CERTIFICATES = 16


@dataclass(frozen=True)
class VerifiedTimestamp:
    gen_time: datetime  # aware UTC
    tsa_cert: x509.Certificate
    certs: tuple[x509.Certificate, ...]  # all certificates carried in the token
    token: bytes
    cert_ders: tuple[bytes, ...] = ()  # their original encoding (evidence)


def verify_token(
    token: bytes,
    imprint_input: bytes,
    algs: AlgorithmPolicy,
    parse_certificate: Callable[[bytes], x509.Certificate] = x509.Certificate.load,
) -> VerifiedTimestamp:
    """RFC 3161 §2.4.2 and RFC 5652 §5.4/§5.6; any decoding failure is TIMESTAMP_INVALID."""
    try:
        return _verify(token, imprint_input, algs, parse_certificate)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise TimestampInvalid(f"time stamp token unreadable: {exc}") from exc


def _verify(
    token: bytes,
    imprint_input: bytes,
    algs: AlgorithmPolicy,
    parse_certificate: Callable[[bytes], x509.Certificate],
) -> VerifiedTimestamp:
    info = cms.ContentInfo.load(token)
    if info["content_type"].native != "signed_data":
        raise TimestampInvalid("time stamp token is not CMS SignedData")
    signed: cms.SignedData = info["content"]
    signer_infos = list(signed["signer_infos"])
    if len(signer_infos) != 1:
        raise TimestampInvalid(f"{len(signer_infos)} SignerInfos in the time stamp token")
    signer_info = signer_infos[0]
    attrs = signer_info["signed_attrs"]
    if not attrs:
        raise TimestampInvalid("time stamp without signed attributes")
    # The signed bytes are the attributes' original encoding, taken before any child is read
    # (asn1crypto normalises some values on access and would then re-encode).
    signed_bytes = b"\x31" + attrs.dump()[1:]  # RFC 5652 §5.4: [0] IMPLICIT -> SET OF
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampInvalid("time stamp token does not encapsulate TSTInfo")
    tst_der = encap["content"].contents
    cert_ders = _certificate_ders(signed)
    if len(cert_ders) > _MAX_CERTIFICATES:
        raise TimestampInvalid(f"{len(cert_ders)} certificates in the time stamp token")
    certs = tuple(parse_certificate(der) for der in cert_ders)
    tst_info = tsp.TSTInfo.load(tst_der)
    imprint = tst_info["message_imprint"]
    imprint_alg = imprint["hash_algorithm"]["algorithm"].native
    gen_time = tst_info["gen_time"].native
    # 1. The imprint is the hash of the canonical ds:SignatureValue (EN 319 132-1 §5.3).
    if imprint_alg not in algs.digests:
        raise TimestampInvalid(f"time stamp imprint uses {imprint_alg}")
    if algorithms.digest(imprint_alg, imprint_input) != imprint["hashed_message"].native:
        raise TimestampInvalid("time stamp imprint does not match the signature value")
    # 2. TSA certificate named by the sid.
    index = _find_signer(signer_info, certs)
    tsa_cert, tsa_der = certs[index], cert_ders[index]
    # 3. Signed attributes: content type, message digest, ESS signing certificate (RFC 5035).
    digest_alg = signer_info["digest_algorithm"]["algorithm"].native
    if digest_alg not in algs.digests:
        raise TimestampInvalid(f"time stamp signed with digest {digest_alg}")
    values = {a["type"].native: a["values"] for a in attrs}
    if "content_type" not in values or values["content_type"][0].native != "tst_info":
        raise TimestampInvalid("time stamp content-type attribute is not TSTInfo")
    if "message_digest" not in values or (
        values["message_digest"][0].native != algorithms.digest(digest_alg, tst_der)
    ):
        raise TimestampInvalid("time stamp message digest does not match TSTInfo")
    _check_ess(values, tsa_der)
    # 4. Signature over the DER SET OF signed attributes.
    _verify_cms_signature(signer_info, tsa_cert, digest_alg, signed_bytes, algs)
    # 5. TSA certificate purpose and validity at genTime (RFC 3161 §2.3).
    eku = tsa_cert.extended_key_usage_value
    if eku is None or "time_stamping" not in eku.native:
        raise TimestampInvalid("TSA certificate lacks the timeStamping extended key usage")
    if not tsa_cert.not_valid_before <= gen_time <= tsa_cert.not_valid_after:
        raise TimestampInvalid("TSA certificate not valid at the time stamp's genTime")
    return VerifiedTimestamp(gen_time, tsa_cert, certs, token, tuple(cert_ders))


def _certificate_ders(signed: cms.SignedData) -> list[bytes]:
    """The certificates' original DER (re-encoding asn1crypto objects is slow and lossy)."""
    field = signed["certificates"]
    if not field:
        return []
    raw = field.contents
    ders = []
    pos = 0
    while pos < len(raw):
        cls, _method, tag, header, contents, trailer = parser.parse(raw[pos:], strict=False)
        size = len(header) + len(contents) + len(trailer)
        if cls == 0 and tag == 16:  # universal SEQUENCE: a plain certificate (RFC 5652 §10.2.2)
            ders.append(raw[pos : pos + size])
        pos += size
    return ders


def _find_signer(signer_info: cms.SignerInfo, certs: tuple[x509.Certificate, ...]) -> int:
    sid = signer_info["sid"]
    for index, cert in enumerate(certs):
        if sid.name == "issuer_and_serial_number":
            # serial first: Name equality (RFC 5280 §7.1 string prep) is the expensive part
            if cert.serial_number == sid.chosen["serial_number"].native and (
                cert.issuer.dump() == sid.chosen["issuer"].dump()
                or cert.issuer == sid.chosen["issuer"]
            ):
                return index
        elif cert.key_identifier == sid.chosen.native:
            return index
    raise TimestampInvalid("the TSA certificate is not in the time stamp token")


def _check_ess(values: dict[str, cms.SetOfAny], tsa_der: bytes) -> None:
    """ESS certificate identifiers hash the certificate's original DER (RFC 5035 §4)."""
    if "signing_certificate_v2" in values:
        cert_id = values["signing_certificate_v2"][0]["certs"][0]
        alg = cert_id["hash_algorithm"]["algorithm"].native
        if algorithms.digest(alg, tsa_der) != cert_id["cert_hash"].native:
            raise TimestampInvalid("ESS signing-certificate-v2 does not match the TSA certificate")
    elif "signing_certificate" in values:
        # ESSCertID v1 is a SHA-1 identifier of the certificate (RFC 2634), not a signature.
        cert_id = values["signing_certificate"][0]["certs"][0]
        if algorithms.digest("sha1", tsa_der) != cert_id["cert_hash"].native:
            raise TimestampInvalid("ESS signing-certificate does not match the TSA certificate")
    else:
        raise TimestampInvalid("time stamp without an ESS signing-certificate attribute")


def _verify_cms_signature(
    signer_info: cms.SignerInfo,
    cert: x509.Certificate,
    digest_alg: str,
    data: bytes,
    algs: AlgorithmPolicy,
) -> None:
    try:
        algorithms.check_public_key(cert.public_key, algs, "TSA certificate")
    except WeakAlgorithm as exc:
        raise TimestampInvalid(exc.message) from exc
    sig_algo = signer_info["signature_algorithm"].signature_algo
    sig = signer_info["signature"].native
    pub = load_der_public_key(cert.public_key.dump())
    algo = _HASHES[digest_alg]()
    try:
        if sig_algo == "ecdsa" and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, data, ec.ECDSA(algo))
        elif sig_algo == "rsassa_pkcs1v15" and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, data, padding.PKCS1v15(), algo)
        elif sig_algo == "rsassa_pss" and isinstance(pub, rsa.RSAPublicKey):
            params = signer_info["signature_algorithm"]["parameters"]
            salt = params["salt_length"].native
            pub.verify(sig, data, padding.PSS(mgf=padding.MGF1(algo), salt_length=salt), algo)
        else:
            raise TimestampInvalid(f"unsupported time stamp signature {sig_algo}")
    except InvalidSignature as exc:
        raise TimestampInvalid("time stamp signature does not verify") from exc
