"""PAdES (ETSI EN 319 142-1) through pyHanko: one signature, integrity, then the shared steps.

pyHanko reads the PDF and checks the CMS signature over the signed byte range; modifications
after signing are judged by pyHanko's default difference policy (only DSS/document time stamps
and similar LTV updates pass).
"""

from __future__ import annotations

import io
import zlib
from datetime import datetime
from typing import Any

from asn1crypto import cms, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.general import SignedDataCerts
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from crypto._internal import algorithms
from crypto._internal.archive import MAX_ARCHIVE_TIMESTAMPS, ArchiveInput
from crypto._internal.pipeline import Progress, Signed, note_trust_freshness, verify_signer
from crypto._internal.xades import TimestampRef
from crypto.errors import (
    MalformedContainer,
    MultipleSignatures,
    SignatureInvalid,
    TooLarge,
    UnsafeInput,
)
from crypto.fetcher import Fetcher
from crypto.policy import Policy
from crypto.reasons import SubIndication
from crypto.trust import TrustStore
from crypto.verdict import DataFile

FORMAT_PADES = "PAdES"


def verify_pades(
    container: bytes,
    policy: Policy,
    trust: TrustStore,
    fetcher: Fetcher | None,
    at: datetime,
    progress: Progress,
) -> None:
    progress.format = FORMAT_PADES
    note_trust_freshness(trust, at, progress)
    # 1. Read the PDF strictly; exactly one approval signature.
    try:
        reader = PdfFileReader(io.BytesIO(container), strict=True)
        signatures = [
            s for s in reader.embedded_regular_signatures if isinstance(s, EmbeddedPdfSignature)
        ]
        doc_timestamps = reader.embedded_timestamp_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise MalformedContainer(f"unreadable PDF: {exc}") from exc
    if not signatures:
        raise MalformedContainer("PDF without a signature")
    if len(signatures) > 1:
        raise MultipleSignatures(f"{len(signatures)} signatures in the PDF")
    sig = signatures[0]
    # 2. Integrity: CMS signature over the byte range, coverage and later modifications.
    try:
        sig.compute_integrity_info()  # type: ignore[no-untyped-call]
        digest_alg = sig.md_algorithm
        algorithms.check_digest(digest_alg, policy.algorithms, "PDF signature digest")
        intact, valid = validate_sig_integrity(
            sig.signer_info, sig.signer_cert, "data", sig.compute_digest()
        )
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SignatureInvalid(f"PDF signature unreadable: {exc}") from exc
    if not intact:
        raise SignatureInvalid(
            "PDF byte range digest mismatch", subindication=SubIndication.HASH_FAILURE
        )
    if not valid:
        raise SignatureInvalid("PDF signature value does not verify")
    if sig.coverage not in (
        SignatureCoverageLevel.ENTIRE_FILE,
        SignatureCoverageLevel.ENTIRE_REVISION,
    ):
        raise SignatureInvalid("the signature does not cover its whole revision")
    diff = sig.diff_result
    if sig.coverage is SignatureCoverageLevel.ENTIRE_REVISION and (
        not isinstance(diff, DiffResult)
        or diff.modification_level not in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
    ):
        raise SignatureInvalid("the PDF was modified after signing")
    # 3. Unsigned material: signature time stamp token, DSS revocation data.
    unsigned = sig.signer_info["unsigned_attrs"]
    timestamps = []
    if unsigned:
        for attr in unsigned:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0].dump()
                timestamps.append(TimestampRef(token, sig.signer_info["signature"].native))
    dss_certs, ocsps, crls = _read_dss(reader, policy, trust)
    if doc_timestamps:
        progress.level = "PAdES-BASELINE-LTA"
    elif ocsps or crls:
        progress.level = "PAdES-BASELINE-LT"
    else:
        progress.level = "PAdES-BASELINE-T" if timestamps else "PAdES-BASELINE-B"
    form = _attached_form(reader, policy)
    data = form[1] if form else container
    progress.data_file = DataFile(form[0] if form else "document.pdf", data)
    certs: SignedDataCerts = sig._init_cert_info()
    if len(certs.other_certs) > policy.limits.max_certificate_bag:
        raise UnsafeInput(
            f"{len(certs.other_certs)} certificates in the PDF signature's CMS "
            f"(limit {policy.limits.max_certificate_bag})"
        )
    verify_signer(
        progress,
        Signed(
            leaf=sig.signer_cert,
            leaf_der=sig.signer_cert.dump(),
            other_certs=tuple(certs.other_certs) + dss_certs,
            timestamps=tuple(timestamps),
            claimed_signing_time=sig.self_reported_timestamp,
            ocsps=ocsps,
            crls=crls,
            data=data,
            archive_timestamps=_document_timestamps(doc_timestamps, container),
        ),
        policy,
        trust,
        fetcher,
        at,
    )


def _document_timestamps(doc_timestamps: list[Any], container: bytes) -> tuple[ArchiveInput, ...]:
    """Each document time stamp (EN 319 142-1 §5.4.3, PAdES-LTA) with the bytes its imprint
    covers: its ByteRange of the file (everything but its own /Contents), oldest first."""
    if len(doc_timestamps) > MAX_ARCHIVE_TIMESTAMPS:
        raise UnsafeInput(f"{len(doc_timestamps)} document time stamps")
    out = []
    # oldest first: an earlier revision's ByteRange ends earlier in the file
    for ts in sorted(doc_timestamps, key=lambda t: int(t.byte_range[2]) + int(t.byte_range[3])):
        try:
            start1, len1, start2, len2 = (int(n) for n in ts.byte_range)
            token = cms.ContentInfo.load(ts.pkcs7_content).dump()
        except (ValueError, TypeError) as exc:
            raise MalformedContainer(f"unreadable document time stamp: {exc}") from exc
        if start1 != 0 or min(len1, start2, len2) < 0 or start2 + len2 > len(container):
            raise MalformedContainer("document time stamp ByteRange outside the file")
        covered = container[start1 : start1 + len1] + container[start2 : start2 + len2]
        out.append(ArchiveInput(token, covered))
    return tuple(out)


_MAX_NAME_TREE = 16
_MAX_DSS_ITEMS = 64  # per array; an LTA document's DSS holds a few chains and responses


def _read_dss(
    reader: PdfFileReader, policy: Policy, trust: TrustStore
) -> tuple[tuple[x509.Certificate, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """Certificates, OCSP responses and CRLs of the Document Security Store (EN 319 142-1
    §5.4.2: PAdES-LT/LTA), each array entry an indirect reference to a stream, dereferenced
    and decoded within the size limits. No DSS: nothing. An unreadable DSS is malformed."""
    dss = _deref(reader.root.get("/DSS"))
    if dss is None:
        return (), (), ()
    try:
        if not isinstance(dss, generic.DictionaryObject):
            raise MalformedContainer("the DSS is not a dictionary")
        arrays = {}
        for key in ("/Certs", "/OCSPs", "/CRLs"):
            items = _deref(dss.get(key)) or []
            if not isinstance(items, generic.ArrayObject | list) or len(items) > _MAX_DSS_ITEMS:
                raise MalformedContainer(f"DSS {key} is not an array of at most {_MAX_DSS_ITEMS}")
            arrays[key] = [_dss_stream(item, policy.limits.max_entry_bytes) for item in items]
        certs = tuple(trust.parse_certificate(der) for der in arrays["/Certs"])
    except (PdfError, KeyError, TypeError, ValueError, zlib.error) as exc:
        raise MalformedContainer(f"unreadable DSS: {exc}") from exc
    return certs, tuple(arrays["/OCSPs"]), tuple(arrays["/CRLs"])


def _dss_stream(item: object, limit: int) -> bytes:
    stream = _deref(item)
    if not isinstance(stream, generic.StreamObject):
        raise MalformedContainer("a DSS entry is not a stream")
    return _decode_bounded(stream, limit)


def _attached_form(reader: PdfFileReader, policy: Policy) -> tuple[str, bytes] | None:
    """The one embedded file (the signed form as an attachment, PDF 32000-1 §7.11.4), if any.

    Read only after the integrity step: modifications after signing were limited to LTV
    updates, so the attachment is the signed one. Decompressed with the policy's entry limit.
    """
    try:
        names = _deref(reader.root.get("/Names"))
        tree = _deref(names.get("/EmbeddedFiles")) if names is not None else None
        if tree is None:
            return None
        entries: list[tuple[str, generic.DictionaryObject]] = []
        _walk_name_tree(tree, entries, depth=0)
        if not entries:
            return None
        if len(entries) > 1:
            raise MalformedContainer(f"{len(entries)} attached files, exactly one expected")
        name, spec = entries[0]
        stream = _deref(_deref(spec["/EF"])["/F"])
        if not isinstance(stream, generic.StreamObject):
            raise MalformedContainer("attachment is not a stream")
        return name, _decode_bounded(stream, policy.limits.max_entry_bytes)
    except (PdfError, KeyError, TypeError, ValueError, zlib.error) as exc:
        raise MalformedContainer(f"unreadable attachment: {exc}") from exc


def _walk_name_tree(
    node: generic.PdfObject, out: list[tuple[str, generic.DictionaryObject]], depth: int
) -> None:
    if depth > 4 or len(out) > _MAX_NAME_TREE or not isinstance(node, generic.DictionaryObject):
        raise MalformedContainer("attachment name tree too deep or too large")
    leaf = _deref(node.get("/Names"))
    if leaf is not None:
        items = list(leaf)
        for key, value in zip(items[0::2], items[1::2], strict=True):
            spec = _deref(value)
            if isinstance(spec, generic.DictionaryObject):
                label = _deref(spec.get("/UF")) or _deref(spec.get("/F")) or key
                out.append((str(label), spec))
    for kid in _deref(node.get("/Kids")) or []:
        _walk_name_tree(_deref(kid), out, depth + 1)


def _deref(obj: object) -> Any:
    return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj  # type: ignore[no-untyped-call]


def _decode_bounded(stream: generic.StreamObject, limit: int) -> bytes:
    filters = _deref(stream.get("/Filter"))
    raw = stream.encoded_data
    if filters is None:
        data = raw
    elif filters in ("/FlateDecode", generic.ArrayObject([generic.NameObject("/FlateDecode")])):
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, limit + 1)
    else:
        raise MalformedContainer(f"attachment filter {filters} not supported")
    if len(data) > limit:
        raise TooLarge(f"attachment decompresses beyond {limit} bytes")
    return bytes(data)
