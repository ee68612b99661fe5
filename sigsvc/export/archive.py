"""Archive time stamps (XAdES-BASELINE-LTA) on stored batch files.

Why: a batch's seal evidence holds until the newest time stamp's TSA certificate expires
(``sigaudit verify-batch`` reports ``renew_before``). Adding an archive time stamp before then,
from a TSA whose certificate lives longer, carries every earlier proof forward; repeat it
before each new ``renew_before``. Only ``META-INF/signatures0.xml`` changes: the manifest, and
so the logged ``manifest_sha256``, stay as they were. The file is replaced atomically.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from audit.batch_format import MANIFEST, SEAL
from sigsvc.export.evidence import NS_XADES141, Tsa, add_archive_timestamp

_STREAM_FROM = 16 * 1024 * 1024


@dataclass(frozen=True)
class Archived:
    path: Path
    archive_timestamps: int  # how many the seal now carries
    size: int  # bytes of the new file


def timestamp_batch_file(path: Path, tsa: Tsa) -> Archived:
    """Add one archive time stamp to the batch at ``path`` (EvidenceError: nothing changed)."""
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(path) as source:
            seal = add_archive_timestamp(source.read(SEAL), source.read(MANIFEST), tsa)
            with zipfile.ZipFile(partial, "w", allowZip64=True) as target:
                for info in source.infolist():  # same order, names, compression, dates
                    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                    copy.compress_type = info.compress_type
                    copy.external_attr = info.external_attr
                    if info.filename == SEAL:
                        target.writestr(copy, seal)
                    elif info.file_size < _STREAM_FROM:  # mimetype: no extra field (ASiC)
                        target.writestr(copy, source.read(info))
                    else:  # the manifest and the range's leaves can be large
                        with (
                            source.open(info) as src,
                            target.open(copy, "w", force_zip64=True) as dst,
                        ):
                            shutil.copyfileobj(src, dst, 1 << 20)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    stamps = len(list(etree.fromstring(seal).iter(f"{{{NS_XADES141}}}ArchiveTimeStamp")))
    return Archived(path, stamps, path.stat().st_size)
