"""ASiC-E / Latvian .edoc ZIP containers (ETSI EN 319 162-1 §4.4, A.1), built byte-reproducibly."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import quoteattr

from .xades import DataFile

MIMETYPE_ASICE = "application/vnd.etsi.asic-e+zip"
NS_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


@dataclass(frozen=True)
class Entry:
    """One ZIP entry, for hand-made (hostile or odd) containers."""

    name: str
    data: bytes
    compress: bool = True


def manifest_xml(files: Sequence[DataFile], mimetype: str = MIMETYPE_ASICE) -> bytes:
    """META-INF/manifest.xml (OpenDocument manifest) as Latvian and Estonian tools write it."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>',
        f'<manifest:manifest xmlns:manifest="{NS_MANIFEST}" manifest:version="1.2">',
        f'  <manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>',
    ]
    for data_file in files:
        lines.append(
            f"  <manifest:file-entry manifest:full-path={quoteattr(data_file.name)}"
            f" manifest:media-type={quoteattr(data_file.mime_type)}/>"
        )
    lines.append("</manifest:manifest>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def zip_entries(entries: Sequence[Entry], *, date_time: datetime) -> bytes:
    """ZIP of ``entries`` in order, with fixed timestamps and no extra fields (reproducible)."""
    out = BytesIO()
    stamp = (date_time.year, date_time.month, date_time.day, date_time.hour, date_time.minute, 0)
    with zipfile.ZipFile(out, "w") as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, entry.data)
    return out.getvalue()


def build_asice(
    files: Sequence[DataFile],
    signature_files: Sequence[tuple[str, bytes]],
    *,
    date_time: datetime,
    mimetype: str = MIMETYPE_ASICE,
    include_mimetype: bool = True,
    mimetype_first: bool = True,
    mimetype_stored: bool = True,
    include_manifest: bool = True,
    extra_entries: Sequence[Entry] = (),
) -> bytes:
    """An ASiC-E container: ``mimetype`` first and STORED, manifest, data files, signatures.

    The keyword switches make the malformed variants verifiers must reject.
    """
    entries: list[Entry] = [Entry(f.name, f.data) for f in files]
    if include_manifest:
        entries.insert(0, Entry("META-INF/manifest.xml", manifest_xml(files, mimetype)))
    entries += [Entry(name, data) for name, data in signature_files]
    entries += list(extra_entries)
    if include_mimetype:
        mime_entry = Entry("mimetype", mimetype.encode("ascii"), compress=not mimetype_stored)
        if mimetype_first:
            entries.insert(0, mime_entry)
        else:
            entries.append(mime_entry)
    return zip_entries(entries, date_time=date_time)


def replace_entry(container: bytes, name: str, data: bytes) -> bytes:
    """``container`` with entry ``name``'s bytes replaced (order, method and dates kept)."""
    source = zipfile.ZipFile(BytesIO(container))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, data if info.filename == name else source.read(info))
    return out.getvalue()
