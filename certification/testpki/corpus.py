"""Write every scenario to a directory with a manifest: for the CLI, conformance runs and bench.

``python -m certification.testpki.corpus OUT`` starts (or reuses) the responders, writes
``OUT/<scenario><suffix>``, ``OUT/trusted-list.xml``, ``OUT/tl-signer.pem`` (the pinned scheme
operator), ``OUT/root.pem`` (test anchor) and ``OUT/manifest.json``: one entry per file with
the expected reason (null = accept), the initiative fields and the validation time.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Collection
from pathlib import Path

from asn1crypto import pem

from . import pki, tl
from .responders import serve_responders
from .scenarios import scenarios


def write_corpus(out: Path, names: Collection[str] | None = None) -> list[dict[str, object]]:
    """Write the scenarios (all, or those in ``names``) and the manifest; return its entries."""
    out.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, object]] = []
    with serve_responders():
        for scenario in scenarios():
            if names is not None and scenario.name not in names:
                continue
            filename = scenario.name + scenario.suffix
            (out / filename).write_bytes(scenario.build())
            initiative = dataclasses.asdict(scenario.initiative)
            initiative["regime"] = scenario.initiative.regime.value
            entries.append(
                {
                    "file": filename,
                    "expected_reason": scenario.reason,
                    "initiative": initiative,
                    "validate_at": scenario.validate_at.isoformat(),
                    "note": scenario.note,
                }
            )
    (out / "trusted-list.xml").write_bytes(tl.build_trusted_list())
    (out / "tl-signer.pem").write_bytes(pem.armor("CERTIFICATE", pki.cert_der("tl_operator")))
    (out / "root.pem").write_bytes(pem.armor("CERTIFICATE", pki.cert_der("root")))
    manifest = {"scenarios": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return entries


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m certification.testpki.corpus OUT_DIR", file=sys.stderr)
        return 2
    entries = write_corpus(Path(args[0]))
    print(f"wrote {len(entries)} containers to {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
