"""XML canonicalization and strict helpers shared by XAdES and trusted-list code."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

from lxml import etree

from crypto.errors import SignatureInvalid, VerificationError

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
ASIC = "http://uri.etsi.org/02918/v1.2.1#"

# Canonicalization methods: URI -> (exclusive, with_comments). C14N 1.1 (W3C 2008) differs from
# 1.0 only in xml:id/xml:base inheritance, which the signed subtrees here never use.
C14N_METHODS = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
DEFAULT_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

_WS = re.compile(rb"[ \t\r\n]+")


def q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def c14n(
    element: etree._Element,
    method: str,
    error: type[VerificationError] = SignatureInvalid,
    prefixes: list[str] | None = None,
) -> bytes:
    try:
        exclusive, comments = C14N_METHODS[method]
    except KeyError:
        raise error(f"unsupported canonicalization {method!r}") from None
    return etree.tostring(
        element,
        method="c14n",
        exclusive=exclusive,
        with_comments=comments,
        inclusive_ns_prefixes=prefixes if exclusive else None,
    )


def b64(text: str | None, what: str, error: type[VerificationError]) -> bytes:
    """Strict base64 (RFC 4648, whitespace allowed between characters as XML Schema permits)."""
    if text is None:
        raise error(f"{what} is empty")
    try:
        return base64.b64decode(_WS.sub(b"", text.encode("ascii")), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise error(f"{what} is not valid base64") from exc


def one(
    parent: etree._Element, tag: str, what: str, error: type[VerificationError]
) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise error(f"expected exactly one {what}, found {len(found)}")
    return found[0]


def xs_datetime(text: str | None, what: str, error: type[VerificationError]) -> datetime:
    """xsd:dateTime with an explicit zone, returned as aware UTC."""
    if not text:
        raise error(f"{what} is empty")
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise error(f"{what} is not an xsd:dateTime") from exc
    if parsed.utcoffset() is None:
        raise error(f"{what} has no time zone")
    return parsed.astimezone(UTC)
