"""Independent XMLDSig self-check for containers made by certification.testpki.sign.

Deliberately small and separate from crypto/ (the verifier under construction): it recomputes
each reference digest and checks ds:SignatureValue with the KeyInfo certificate's public key.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from io import BytesIO
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

DS = "{http://www.w3.org/2000/09/xmldsig#}"
DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"


class SelfCheckFailed(AssertionError):
    pass


def c14n(element: etree._Element, method: str) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=method == EXC)


def check_signature(signature: etree._Element, files: dict[str, bytes]) -> None:
    signed_info = signature.find(f"{DS}SignedInfo")
    assert signed_info is not None
    method = signed_info.find(f"{DS}CanonicalizationMethod").get("Algorithm")  # type: ignore[union-attr]
    for ref in signed_info.iter(f"{DS}Reference"):
        algorithm = DIGESTS[ref.find(f"{DS}DigestMethod").get("Algorithm")]  # type: ignore[union-attr,index]
        uri = ref.get("URI", "")
        if uri.startswith("#"):
            (target,) = signature.getroottree().xpath("//*[@Id=$id]", id=uri[1:])
            transforms = [t.get("Algorithm") for t in ref.iter(f"{DS}Transform")]
            data = c14n(target, EXC if EXC in transforms else "c14n")
        else:
            data = files[unquote(uri)]
        expected = base64.b64decode("".join((ref.findtext(f"{DS}DigestValue") or "").split()))
        if hashlib.new(algorithm, data).digest() != expected:
            raise SelfCheckFailed(f"digest mismatch for reference {uri!r}")
    cert_b64 = signature.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64 or ""))
    value = base64.b64decode(signature.findtext(f"{DS}SignatureValue") or "")
    sig_uri = signed_info.find(f"{DS}SignatureMethod").get("Algorithm") or ""  # type: ignore[union-attr]
    digest = {
        "sha1": hashes.SHA1(),
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }[sig_uri.rsplit("-", 1)[-1]]
    key = cert.public_key()
    message = c14n(signed_info, method)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, message, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            der = utils.encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            key.verify(der, message, ec.ECDSA(digest))
        else:
            raise SelfCheckFailed("unexpected key type")
    except Exception as exc:  # cryptography raises InvalidSignature
        raise SelfCheckFailed(f"SignatureValue does not verify: {exc!r}") from exc


def check_container(container: bytes) -> list[etree._Element]:
    """Check every ds:Signature in every META-INF/*signatures*.xml; return them."""
    archive = zipfile.ZipFile(BytesIO(container))
    names = archive.namelist()
    files = {n: archive.read(n) for n in names if not n.startswith("META-INF/") and n != "mimetype"}
    signatures = []
    for name in names:
        if name.startswith("META-INF/") and "signatures" in name:
            root = etree.fromstring(archive.read(name))
            for signature in root.iter(f"{DS}Signature"):
                check_signature(signature, files)
                signatures.append(signature)
    return signatures
