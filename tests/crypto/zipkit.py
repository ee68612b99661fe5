"""Build (possibly hostile) zip/ASiC containers byte by byte for structure tests."""

from __future__ import annotations

import io
import zipfile

MIMETYPE = b"application/vnd.etsi.asic-e+zip"
MANIFEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    b'<manifest:file-entry manifest:full-path="/" '
    b'manifest:media-type="application/vnd.etsi.asic-e+zip"/>'
    b'<manifest:file-entry manifest:full-path="form.txt" manifest:media-type="text/plain"/>'
    b"</manifest:manifest>"
)
SIGNATURES = b'<asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#"/>'


def make_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """entries: (name, data, compress_type) in order; duplicates allowed on purpose."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            with _quiet():
                zf.writestr(info, data)
    return buf.getvalue()


def asic(
    *,
    mimetype: bytes | None = MIMETYPE,
    mimetype_method: int = zipfile.ZIP_STORED,
    mimetype_last: bool = False,
    signatures: list[tuple[str, bytes]] | None = None,
    data: list[tuple[str, bytes]] | None = None,
    manifest: bytes | None = MANIFEST,
) -> bytes:
    entries: list[tuple[str, bytes, int]] = []
    if manifest is not None:
        entries.append(("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED))
    for name, body in (
        signatures if signatures is not None else [("META-INF/signatures0.xml", SIGNATURES)]
    ):
        entries.append((name, body, zipfile.ZIP_DEFLATED))
    for name, body in data if data is not None else [("form.txt", b"hello\n")]:
        entries.append((name, body, zipfile.ZIP_DEFLATED))
    if mimetype is not None:
        item = ("mimetype", mimetype, mimetype_method)
        entries = [*entries, item] if mimetype_last else [item, *entries]
    return make_zip(entries)


class _quiet:
    """zipfile warns on duplicate names; we want them."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
