"""ASiC-E / Latvian .edoc container structure (ETSI EN 319 162-1 §4.4, A.1).

mimetype first, stored, exact media type; META-INF/manifest.xml listing the data file; exactly
one signature file META-INF/*signatures*.xml and exactly one data file. Nothing else, at any
depth (no directory entries either): whatever is in the container is stored and handed over to
CVK, so an entry no signature covers must not get in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crypto._internal import safexml
from crypto._internal.zipsafe import ZipEntry, read_zip
from crypto.errors import MalformedContainer, MultipleSignatures, UnsupportedFormat
from crypto.policy import SizeLimits

ASIC_E_MIMETYPE = b"application/vnd.etsi.asic-e+zip"  # EN 319 162-1 §A.1
MANIFEST = "META-INF/manifest.xml"
_MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"  # ODF 1.2 part 3 §4
_SIGNATURE_FILE = re.compile(r"META-INF/[^/]*signatures[^/]*\.xml")
_OTHER_META = re.compile(r"META-INF/[^/]+")


@dataclass(frozen=True, slots=True)
class AsicContainer:
    signature_name: str
    signature_xml: bytes
    data_name: str
    data: bytes
    entries: tuple[ZipEntry, ...]


def parse_asic(data: bytes, limits: SizeLimits) -> AsicContainer:
    entries = read_zip(data, limits)
    # 1. mimetype: first entry, at offset 0, stored, exact value (EN 319 162-1 A.1)
    if not any(e.name == "mimetype" for e in entries):
        raise MalformedContainer("no mimetype entry")
    if entries[0].name != "mimetype" or entries[0].offset != 0:
        raise MalformedContainer("mimetype is not the first entry")
    if not entries[0].stored:
        raise MalformedContainer("mimetype entry is compressed")
    if entries[0].data != ASIC_E_MIMETYPE:
        # A well-formed package of another kind (ASiC-S, ODF, ...): not a format we verify.
        raise UnsupportedFormat(f"mimetype is {entries[0].data[:64]!r}, not ASiC-E")
    rest = entries[1:]
    if any(e.name == "mimetype" for e in rest):
        raise MalformedContainer("second mimetype entry")
    # 2. signature files: exactly one
    signatures = [e for e in rest if _SIGNATURE_FILE.fullmatch(e.name)]
    if not signatures:
        raise MalformedContainer("no META-INF/*signatures*.xml")
    if len(signatures) > 1:
        raise MultipleSignatures(f"{len(signatures)} signature files")
    # 3. manifest and the one data file
    manifest = [e for e in rest if e.name == MANIFEST]
    if len(manifest) != 1:
        raise MalformedContainer("missing META-INF/manifest.xml")
    data_files = [
        e for e in rest if not e.name.startswith("META-INF/") and not e.name.endswith("/")
    ]
    unknown_meta = [
        e.name
        for e in rest
        if _OTHER_META.fullmatch(e.name) and e.name != MANIFEST and e not in signatures
    ]
    if unknown_meta:
        raise MalformedContainer(f"unexpected META-INF entries {unknown_meta}")
    if len(data_files) != 1:
        raise MalformedContainer(f"{len(data_files)} data files, exactly one expected")
    data_file = data_files[0]
    allowed = {"mimetype", MANIFEST, signatures[0].name, data_file.name}
    extra = [e.name for e in rest if e.name not in allowed]
    if extra:
        raise MalformedContainer(
            f"entries other than mimetype, manifest, signature and data file: {extra[:4]}"
        )
    listed = _manifest_paths(manifest[0].data, limits)
    if data_file.name not in listed:
        raise MalformedContainer(f"data file {data_file.name!r} is not in the manifest")
    if set(listed) - {data_file.name, "/"}:
        raise MalformedContainer("manifest lists files that are not in the container")
    return AsicContainer(
        signature_name=signatures[0].name,
        signature_xml=signatures[0].data,
        data_name=data_file.name,
        data=data_file.data,
        entries=tuple(entries),
    )


def _manifest_paths(xml: bytes, limits: SizeLimits) -> list[str]:
    root = safexml.parse(xml, limits)
    if root.tag != f"{{{_MANIFEST_NS}}}manifest":
        raise MalformedContainer("manifest root is not manifest:manifest")
    paths = []
    for entry in root.findall(f"{{{_MANIFEST_NS}}}file-entry"):
        path = entry.get(f"{{{_MANIFEST_NS}}}full-path")
        if path is None:
            raise MalformedContainer("manifest file-entry without full-path")
        paths.append(path)
    return paths
