"""XAdES archive time stamps (ETSI EN 319 132-1 §5.5.2, xades141:ArchiveTimeStamp): the bytes
each one's message imprint covers, "not distributed" case (all unsigned properties under one
UnsignedSignatureProperties, as ASiC-E signatures are).

The input is the concatenation, in this order, of
1. each ds:Reference of ds:SignedInfo, in order, dereferenced: the data file's bytes as they
   are (a detached octet stream in ASiC-E), the SignedProperties element canonicalized;
2. ds:SignedInfo, ds:SignatureValue and ds:KeyInfo (when present), canonicalized;
3. every child of UnsignedSignatureProperties that comes before this archive time stamp
   (signature time stamps, certificate and revocation values, earlier archive time stamps,
   time-stamp validation data), canonicalized, in document order;
4. every ds:Object of the signature except the one holding QualifyingProperties, canonicalized;
each with the archive time stamp's own ds:CanonicalizationMethod (default: C14N 1.0).
A later archive time stamp so covers the earlier ones and everything they covered.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from crypto._internal.xmldsig import DEFAULT_C14N, DS, XADES, XADES141, b64, c14n, one, q
from crypto.errors import MalformedContainer, SignatureInvalid, UnsafeInput, VerificationError

# Each one re-digests everything before it. Signatures at intake carry one or two; a batch
# seal (crypto.seal_evidence, also parsed by crypto._internal.xades) gains one per renewal,
# every few years, so 32 is decades of renewals.
MAX_ARCHIVE_TIMESTAMPS = 32


@dataclass(frozen=True)
class ArchiveInput:
    token: bytes  # DER ContentInfo
    imprint_input: bytes


def covered_bytes(
    sig: etree._Element,
    references: list[tuple[str, etree._Element | bytes]],
    unsigned: etree._Element | None,
    before: int,
    method: str,
    error: type[VerificationError] = MalformedContainer,
) -> bytes:
    """What an archive time stamp placed after the first `before` children of `unsigned`
    covers (the module's list), canonicalized with `method`.

    `references`: in SignedInfo order, ("data", the file's bytes) or ("xml", the referenced
    element, e.g. SignedProperties), as core validation dereferenced them.
    """

    def canon(element: etree._Element) -> bytes:
        return c14n(element, method, error)

    parts = [ref if isinstance(ref, bytes) else canon(ref) for _, ref in references]
    parts.append(canon(one(sig, q(DS, "SignedInfo"), "ds:SignedInfo", error)))
    parts.append(canon(one(sig, q(DS, "SignatureValue"), "ds:SignatureValue", error)))
    key_info = sig.find(q(DS, "KeyInfo"))
    if key_info is not None:
        parts.append(canon(key_info))
    preceding = list(unsigned)[:before] if unsigned is not None else []
    parts += [canon(child) for child in preceding if isinstance(child.tag, str)]  # no comments
    parts += [
        canon(obj)
        for obj in sig.findall(q(DS, "Object"))
        if obj.find(q(XADES, "QualifyingProperties")) is None
    ]
    return b"".join(parts)


def archive_inputs(
    sig: etree._Element,
    references: list[tuple[str, etree._Element | bytes]],
    unsigned: etree._Element,
) -> tuple[ArchiveInput, ...]:
    """One ArchiveInput per ArchiveTimeStamp under `unsigned`, in document order."""
    children = list(unsigned)
    positions = [i for i, c in enumerate(children) if c.tag == q(XADES141, "ArchiveTimeStamp")]
    if len(positions) > MAX_ARCHIVE_TIMESTAMPS:
        raise UnsafeInput(f"{len(positions)} archive time stamps in one signature")
    out = []
    for position in positions:
        stamp = children[position]
        method_el = stamp.find(q(DS, "CanonicalizationMethod"))
        method = method_el.get("Algorithm", "") if method_el is not None else DEFAULT_C14N
        token_el = one(
            stamp, q(XADES, "EncapsulatedTimeStamp"), "EncapsulatedTimeStamp", SignatureInvalid
        )
        token = b64(token_el.text, "EncapsulatedTimeStamp", MalformedContainer)
        covered = covered_bytes(sig, references, unsigned, position, method)
        out.append(ArchiveInput(token, covered))
    return tuple(out)
