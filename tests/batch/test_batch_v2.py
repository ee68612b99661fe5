"""Batch format v2: the seal at XAdES-BASELINE-LT (then LTA) verified offline at a validation
time past its certificates' expiry, and completeness of the initiative's log range.

Real parts: the test PKI's TSA and OCSP responders over HTTP, the operator seal certificate
they answer for, real .edoc containers; time moves only through ``--at`` and the responders'
clock header, never today's date."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from audit import events
from certification.sealpki import operator_seal_files
from certification.testpki import Responders
from certification.testpki.responders import time_header
from sigsvc.export.archive import timestamp_batch_file
from sigsvc.export.evidence import Tsa
from sigsvc.export.seal import FileSealer
from tests.batch.kit import ACCEPTED_AT, INITIATIVE, Kit, members, reseal, rewrite

# Certificates: operator seal 2025-01-01..2030-01-01; TSA "2025" ..2031-01-01;
# archive TSA "2029" 2029-01-01..2036-01-01; their CAs ..2036, root ..2045.
SOON = "2026-06-01T00:00:00Z"
SEAL_EXPIRED = "2030-06-01T00:00:00Z"  # the seal certificate has expired
TSA_EXPIRED = "2031-06-01T00:00:00Z"  # and so has the signature time stamp's TSA
LATER = "2033-06-01T00:00:00Z"


def _v2kit(directory: Path, responders: Responders) -> Kit:
    directory.mkdir(exist_ok=True)
    key, chain, anchor = operator_seal_files(directory)
    sealer = FileSealer.from_files(key, chain)
    return Kit(directory, sealer, anchor, tsa=Tsa(responders.tsa_url))


@pytest.fixture
def v2kit(tmp_path: Path, responders: Responders) -> Kit:
    return _v2kit(tmp_path, responders)


def _accept(kit: Kit, edocs: list[Any], n: int, first: int = 0) -> list[Any]:
    return [kit.accept(f"sig-{first + i}", *edocs[first + i]) for i in range(n)]


def _archive(path: Path, responders: Responders, at: str) -> None:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    tsa = Tsa(responders.tsa_url_for("tsa-archive"), headers=time_header(moment))
    assert timestamp_batch_file(path, tsa).archive_timestamps >= 1


def test_lt_seal_verifies_past_the_seal_certificate_expiry_and_lta_past_the_tsa(
    v2kit: Kit, edocs: list[Any], responders: Responders
) -> None:
    path = v2kit.batch(_accept(v2kit, edocs, 3), range_start=0)
    for at in (SOON, SEAL_EXPIRED):
        code, report = v2kit.verify(path, "--at", at)
        assert code == 0, report
        assert report["version"] == 2
        assert report["seal_evidence"]["level"] == "XAdES-BASELINE-LT"
        assert report["seal_evidence"]["renew_before"] == "2031-01-01T00:00:00.000Z"
    code, report = v2kit.verify(path, "--at", TSA_EXPIRED)
    assert (code, report["error"]["reason"]) == (1, "SEAL_EVIDENCE_EXPIRED")
    manifest = members(path)["manifest.json"]
    # Archive time stamp made in 2030 by the longer-lived TSA: good until 2036.
    _archive(path, responders, SEAL_EXPIRED)
    assert members(path)["manifest.json"] == manifest  # the logged digest stays right
    for at in (TSA_EXPIRED, LATER):
        code, report = v2kit.verify(path, "--at", at)
        assert code == 0, report
        assert report["seal_evidence"]["level"] == "XAdES-BASELINE-LTA"
        assert report["seal_evidence"]["renew_before"] == "2036-01-01T00:00:00.000Z"
    code, report = v2kit.verify(path, "--at", "2036-06-01T00:00:00Z")
    assert (code, report["error"]["reason"]) == (1, "SEAL_EVIDENCE_EXPIRED")


def test_archive_time_stamp_covers_the_revocation_data(
    v2kit: Kit, edocs: list[Any], responders: Responders, tmp_path: Path
) -> None:
    path = v2kit.batch(_accept(v2kit, edocs, 2), range_start=0)
    _archive(path, responders, SEAL_EXPIRED)

    def drop_ocsp(files: dict[str, bytes]) -> dict[str, bytes]:
        seal = files["META-INF/signatures0.xml"]
        start = seal.index(b"<xades:EncapsulatedOCSPValue>") + len(b"<xades:EncapsulatedOCSPValue>")
        files["META-INF/signatures0.xml"] = seal[:start] + b"MA==" + seal[seal.index(b"<", start) :]
        return files

    bad = rewrite(path, tmp_path / "bad.asice", drop_ocsp)
    code, report = v2kit.verify(bad, "--at", LATER)
    assert (code, report["error"]["reason"]) == (1, "SEAL_INVALID")
    assert "time stamp" in report["error"]["message"]


def test_b_level_seal_is_refused_in_version_2(v2kit: Kit, edocs: list[Any], tmp_path: Path) -> None:
    path = v2kit.batch(_accept(v2kit, edocs, 2), range_start=0)
    v2kit.tsa, tsa = None, v2kit.tsa  # the operator reseals without a time stamp
    bare = reseal(v2kit, path, tmp_path / "bare.asice", lambda m: None)
    v2kit.tsa = tsa
    code, report = v2kit.verify(bare, "--at", SOON)
    assert (code, report["error"]["reason"]) == (1, "SEAL_INVALID")
    assert "time stamp" in report["error"]["message"]


def _drop_signature(kit: Kit, src: Path, dst: Path, position: int) -> Path:
    """A lying operator: leaves one signature out (entry, file and count) and reseals."""
    files = members(src)
    entry = json.loads(files["manifest.json"])["entries"][position]

    def edit(manifest: dict[str, Any]) -> None:
        manifest["entries"].pop(position)
        manifest["count"] -= 1

    resealed = reseal(kit, src, dst.with_suffix(".tmp"), edit)
    return rewrite(resealed, dst, lambda f: {k: v for k, v in f.items() if k != entry["file"]})


def test_a_batch_missing_one_signature_is_refused_in_v2_and_passed_in_v1(
    v2kit: Kit, kit: Kit, edocs: list[Any], tmp_path: Path
) -> None:
    # The operator's export leaves sig-2 out; everything it writes is otherwise honest.
    records = _accept(v2kit, edocs, 4)
    short = v2kit.batch([r for r in records if r.signature != "sig-2"], range_start=0)
    code, report = v2kit.verify(short, "--at", SOON)
    assert (code, report["error"]["reason"]) == (1, "BATCH_INCOMPLETE"), report
    assert report["error"]["name"] == "sig-2"
    # The same lie in a version 1 batch verifies: v1 cannot show completeness.
    v1_records = _accept(kit, edocs, 4)
    short_v1 = kit.batch([r for r in v1_records if r.signature != "sig-2"])
    code, report = kit.verify(short_v1)
    assert code == 0 and report["version"] == 1 and report["count"] == 3


def test_a_resealed_batch_missing_one_signature_is_refused(
    v2kit: Kit, edocs: list[Any], tmp_path: Path
) -> None:
    full = v2kit.batch(_accept(v2kit, edocs, 4), range_start=0)
    assert v2kit.verify(full, "--at", SOON)[0] == 0
    short = _drop_signature(v2kit, full, tmp_path / "short.asice", 2)
    code, report = v2kit.verify(short, "--at", SOON)
    assert (code, report["error"]["reason"]) == (1, "BATCH_INCOMPLETE"), report
    assert report["error"]["name"] == "sig-2"


def _with_withdrawal(kit: Kit, edocs: list[Any]) -> list[Any]:
    records = _accept(kit, edocs, 3)
    withdrawn = records[1]
    kit.log.append_events(
        [
            events.signature_withdrawn(
                at=ACCEPTED_AT,
                initiative=INITIATIVE.id,
                signature=withdrawn.signature,
                container_sha256=hashlib.sha256(withdrawn.container).hexdigest(),
                signer=hashlib.sha256(withdrawn.signature.encode()).hexdigest(),
            )
        ]
    )
    return records


def test_withdrawn_signatures_are_left_out_and_may_not_be_added(
    edocs: list[Any], tmp_path: Path, responders: Responders
) -> None:
    honest = _v2kit(tmp_path / "honest", responders)
    records = _with_withdrawal(honest, edocs)
    good = honest.batch([records[0], records[2]], range_start=0)
    code, report = honest.verify(good, "--at", SOON)
    assert code == 0, report
    assert (report["range"]["accepted"], report["range"]["withdrawn"]) == (3, 1)
    lying = _v2kit(tmp_path / "lying", responders)
    bad = lying.batch(_with_withdrawal(lying, edocs), range_start=0)  # the withdrawn one too
    code, report = lying.verify(bad, "--at", SOON)
    assert (code, report["error"]["reason"]) == (1, "ENTRY_NOT_PENDING")
    assert report["error"]["name"] == records[1].signature


def _two_batches(kit: Kit, edocs: list[Any], start_at: int | None = None) -> Path:
    first = kit.batch(_accept(kit, edocs, 2), "first.asice", range_start=0)
    assert kit.verify(first, "--at", SOON)[0] == 0
    assert kit.last_export is not None
    later = _accept(kit, edocs, 3, first=2)
    start = kit.last_export + 1 if start_at is None else later[start_at].leaf_index
    return kit.batch(later[start_at or 0 :], "second.asice", range_start=start)


def test_second_batch_range_follows_the_first_and_cannot_skip(
    edocs: list[Any], tmp_path: Path, responders: Responders
) -> None:
    honest = _v2kit(tmp_path / "honest", responders)
    second = _two_batches(honest, edocs)
    code, report = honest.verify(second, "--at", SOON)
    assert code == 0, report
    assert report["range"]["previous_batch"] == "batch-1"
    assert report["count"] == 3
    # The operator starts the second range later, to leave sig-2 out of every batch.
    lying = _v2kit(tmp_path / "lying", responders)
    skipping = _two_batches(lying, edocs, start_at=1)
    code, report = lying.verify(skipping, "--at", SOON)
    assert (code, report["error"]["reason"]) == (1, "BATCH_INCOMPLETE"), report
    assert "not a batch.exported" in report["error"]["message"]


def test_range_leaves_cannot_be_edited(v2kit: Kit, edocs: list[Any], tmp_path: Path) -> None:
    path = v2kit.batch(_accept(v2kit, edocs, 3), range_start=0)

    def drop_line(files: dict[str, bytes]) -> dict[str, bytes]:
        lines = files["log/leaves"].split(b"\n")
        files["log/leaves"] = b"\n".join(lines[:1] + lines[2:])
        return files

    def hide_acceptance(files: dict[str, bytes]) -> dict[str, bytes]:
        # turn an acceptance of the initiative into one of another initiative
        files["log/leaves"] = files["log/leaves"].replace(
            b'"initiative":"init-1"', b'"initiative":"init-2"', 1
        )
        return files

    for change, reason in ((drop_line, "MALFORMED_BATCH"), (hide_acceptance, "NOT_INCLUDED")):
        bad = rewrite(path, tmp_path / f"{change.__name__}.asice", change)
        code, report = v2kit.verify(bad, "--at", SOON)
        assert (code, report["error"]["reason"]) == (1, reason), (change.__name__, report)


def test_v2_manifest_matches_the_schema_and_v1_rules_stay(v2kit: Kit, edocs: list[Any]) -> None:
    import jsonschema
    from referencing import Registry, Resource

    schemas = Path(__file__).parents[2] / "schemas"
    path = v2kit.batch(_accept(v2kit, edocs, 2), range_start=0)
    manifest = json.loads(members(path)["manifest.json"])
    schema = json.loads((schemas / "batch-manifest.schema.json").read_text())
    leaf = json.loads((schemas / "log-leaf.schema.json").read_text())
    registry: Registry = Registry().with_resource(leaf["$id"], Resource.from_contents(leaf))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    validator.validate(manifest)
    assert manifest["version"] == 2 and manifest["log"]["range"]["start"] == 0
    del manifest["log"]["range"]  # version 2 without its range
    assert not validator.is_valid(manifest)
    manifest["version"] = 1  # a version 1 manifest has none
    validator.validate(manifest)
