"""Regenerate ``generated/`` (certificates as PEM, the signed test trusted list) from pki.yml.

``python -m certification.testpki.generate`` (``make pki``). Output is byte-identical on every
run; CI regenerates and runs ``git diff --exit-code`` (``make pki-check``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from asn1crypto import pem

from . import lotl, pki, tl

OUT = pki.HERE / "generated"


def outputs() -> dict[Path, bytes]:
    """Every generated file, path -> bytes."""
    files: dict[Path, bytes] = {}
    for label in pki.cert_labels():
        files[OUT / "certs" / f"{label}.pem"] = pem.armor("CERTIFICATE", pki.cert_der(label))
    files[OUT / "trusted-list.xml"] = tl.build_trusted_list()
    files[OUT / "lotl.xml"] = lotl.build_lotl()
    return files


def main(argv: list[str] | None = None) -> int:
    files = outputs()
    stale = {p for p in OUT.rglob("*") if p.is_file()} - set(files)
    for path in stale:
        path.unlink()
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    print(f"wrote {len(files)} files under {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
