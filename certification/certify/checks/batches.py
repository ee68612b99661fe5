"""C14 withdrawal, C19 batch format, C20 batch tamper evidence, C21 export access, C26
retention — exported through the admin API, received by the reference receiver (CVK stand-in),
verified offline with `sigaudit verify-batch`."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from certification.certify.checks.common import events_of, fence
from certification.certify.model import CheckSpec, Context, Skip
from certification.certify.world import Initiative, World
from crypto.form import FormKind


@dataclass
class Flow:
    batch: dict[str, Any]
    artefact: bytes = b""
    received: dict[str, Any] | None = None
    received_status: int = 0
    problem: str = ""  # set when the deployment's batch configuration is not the kit's


def export(ctx: Context, world: World, initiative: Initiative) -> tuple[int, Any]:
    answer = world.target.admin("POST", f"/v1/initiatives/{initiative.id}/batches")
    ctx.note(f"POST .../batches: {answer.brief()}")
    return answer.status, answer.json


def download(world: World, batch_id: str, token: str | None) -> Any:
    return world.target.request("GET", f"/v1/batches/{batch_id}/artefact", token=token)


def new_token(world: World, batch_id: str) -> str:
    return str(world.target.admin_ok("POST", f"/v1/batches/{batch_id}/download-token")["token"])


def receive(world: World, artefact: bytes) -> tuple[int, dict[str, Any]]:
    reply = requests.post(
        world.receiver_url + "/batches",
        data=artefact,
        headers={"Idempotency-Key": f"certify-{uuid.uuid4()}"},
        timeout=300,
    )
    return reply.status_code, reply.json()


def export_and_receive(ctx: Context, world: World, initiative: Initiative) -> Flow:
    """Export, download once, hand to the reference receiver, post its acknowledgement back
    (as CVK does: the receiver witnesses the log, so every accepted batch is acknowledged
    before the next one is exported)."""
    status, doc = export(ctx, world, initiative)
    if status == 503:
        return Flow({}, problem=f"batch export answered 503 {doc}")
    if status != 201:
        raise RuntimeError(f"batch export: {status} {doc}")
    flow = Flow(doc)
    answer = download(world, doc["id"], new_token(world, doc["id"]))
    if answer.status != 200:
        raise RuntimeError(f"batch download: {answer.brief()}")
    flow.artefact = answer.body
    ctx.input(f"batch {doc['sequence']} of {initiative.fields.registration_number}", answer.body)
    flow.received_status, flow.received = receive(world, answer.body)
    ctx.note(
        f"reference receiver: {flow.received_status} {flow.received.get('status')} "
        f"{flow.received.get('reason')}"
    )
    if flow.received_status not in (200, 201):
        flow.problem = (
            f"the reference receiver refused the target's batch ({flow.received.get('reason')}: "
            f"{flow.received.get('message')}); is it sealed with the kit's seal key?"
        )
        return flow
    ack = world.target.admin(
        "POST",
        f"/v1/batches/{doc['id']}/acknowledgement",
        data=flow.received["acknowledgement"].encode(),
        headers={"Content-Type": "text/plain"},
    )
    ctx.note(f"acknowledgement posted: {ack.brief()}")
    if ack.status != 200:
        flow.problem = (
            f"the target refused the reference receiver's acknowledgement ({ack.brief()} "
            f"{ack.message}); set SIGSVC_RECEIVER_KEY to the kit's"
        )
    return flow


def _signers(ctx: Context, world: World, initiative: Initiative, n: int) -> list[str]:
    ids = []
    for i in range(n):
        who = world.citizen(new_format=i % 2 == 1)
        answer = world.post(ctx, initiative, world.signed(initiative, who), f"signature {i + 1}")
        if not world.expect_accepted(ctx, answer, f"valid signature {i + 1}"):
            raise RuntimeError("a valid signature was not accepted")
        ids.append(answer.json["id"])
    return ids


def sigaudit_batch(world: World, artefact: bytes, name: str) -> tuple[int, Any, str]:
    path = world.save(name, artefact)
    return world.sigaudit(
        "verify-batch",
        str(path),
        "--key",
        world.log_key,
        "--seal-anchor",
        str(world.kit.seal_anchor),
    )


def c14(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    early = world.citizen()
    signed = world.post(ctx, initiative, world.signed(initiative, early), "A signs")
    world.expect_accepted(ctx, signed, "A's signature")
    withdrawal = world.signed(initiative, early, kind=FormKind.WITHDRAWAL)
    answer = world.post(ctx, initiative, withdrawal, "A withdraws", kind="withdrawals")
    ctx.expect(answer.status == 200, f"withdrawal before export: {answer.brief()}")
    late = world.citizen(new_format=True)
    world.expect_accepted(
        ctx, world.post(ctx, initiative, world.signed(initiative, late), "B signs"), "B"
    )
    flow = export_and_receive(ctx, world, initiative)
    ctx.expect(flow.batch.get("count") == 1, f"batch holds B only: count {flow.batch.get('count')}")
    received = flow.received or {}
    ctx.expect(received.get("count") == 1, f"receiver counts {received.get('count')} container")
    second = world.signed(initiative, late, kind=FormKind.WITHDRAWAL)
    refused = world.post(ctx, initiative, second, "B withdraws after export", kind="withdrawals")
    world.expect_refused(ctx, refused, "ALREADY_EXPORTED", "withdrawal after export")
    batch = world.target.admin_ok("GET", f"/v1/batches/{flow.batch['id']}")
    ctx.expect(
        batch["manifest_sha256"] == flow.batch["manifest_sha256"] and batch["count"] == 1,
        "the exported batch is unchanged after the refused withdrawal",
    )
    size = fence(ctx, world, initiative)
    types = [e["type"] for e in events_of(world, initiative, size)]
    ctx.expect(types.count("signature.withdrawn") == 1, f"withdrawal logged once: {types}")


def c19(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    ids = _signers(ctx, world, initiative, 3)
    posted = {i.sha256 for i in ctx.inputs}
    flow = export_and_receive(ctx, world, initiative)
    with zipfile.ZipFile(io.BytesIO(flow.artefact)) as z:
        names = z.namelist()
        ctx.note(f"batch entries: {names}")
        ctx.expect(names[0] == "mimetype", "ASiC-E: mimetype first")
        ctx.expect(any(n.endswith("manifest.json") for n in names), "manifest.json present")
        ctx.expect(
            any("signatures" in n and n.startswith("META-INF/") for n in names),
            "operator seal (META-INF/*signatures*) present",
        )
        import hashlib

        inner = {hashlib.sha256(z.read(n)).hexdigest() for n in names if n.endswith(".edoc")}
    ctx.expect(
        inner == posted and len(ids) == 3,
        f"every signer's container unchanged (by SHA-256): {len(inner & posted)}/3",
    )
    code, _, text = sigaudit_batch(world, flow.artefact, "c19.edoc")
    ctx.expect(code == 0, f"sigaudit verify-batch: exit {code} {text[:300]}")
    ctx.expect(flow.received_status == 201, f"reference receiver: {flow.received_status}")


def c20(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    _signers(ctx, world, initiative, 3)
    # a refused, a duplicate and a withdrawn signature must not be counted
    bad = world.post(ctx, initiative, world.signed(initiative, world.citizen(), level="B"), "no TS")
    world.expect_refused(ctx, bad, "NO_TIMESTAMP", "signature without time stamp")
    dup_person = world.citizen()
    world.post(ctx, initiative, world.signed(initiative, dup_person), "D signs")
    dup = world.post(ctx, initiative, world.signed(initiative, dup_person), "D again")
    world.expect_refused(ctx, dup, "DUPLICATE", "second signature of D")
    gone = world.citizen()
    world.post(ctx, initiative, world.signed(initiative, gone), "W signs")
    world.post(
        ctx,
        initiative,
        world.signed(initiative, gone, kind=FormKind.WITHDRAWAL),
        "W withdraws",
        kind="withdrawals",
    )
    counts = world.target.request("GET", f"/v1/public/initiatives/{initiative.id}").json
    ctx.note(f"public counts: {counts.get('counts')}")
    flow = export_and_receive(ctx, world, initiative)
    ctx.expect(flow.batch["count"] == 4, f"batch count {flow.batch['count']} = 3 + D once = 4")
    ctx.expect(flow.received_status == 201, "the untouched batch is accepted by the receiver")
    for what, mutate in (("remove one signer file", "remove"), ("change one signer file", "flip")):
        broken = _mutate(flow.artefact, mutate)
        status, doc = receive(world, broken)
        ctx.input(f"batch with {what}", broken)
        ctx.expect(
            status == 422 and doc.get("status") == "REFUSED",
            f"{what}: receiver {status} {doc.get('reason')}",
        )
    again = world.target.admin("POST", f"/v1/initiatives/{initiative.id}/batches")
    ctx.expect(again.code == "NOTHING_TO_EXPORT", f"re-export: {again.brief()}")
    stored = world.target.admin_ok("GET", f"/v1/batches/{flow.batch['id']}")
    digests = {
        flow.batch["manifest_sha256"],
        stored["manifest_sha256"],
        (flow.received or {}).get("manifest_sha256"),
    }
    ctx.expect(len(digests) == 1, f"manifest digest: export, stored and received agree: {digests}")


def _mutate(artefact: bytes, how: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(artefact))
    out = io.BytesIO()
    victim = next(n for n in src.namelist() if n.endswith(".edoc"))
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == victim:
                if how == "remove":
                    continue
                data = data[:-30] + bytes([data[-30] ^ 1]) + data[-29:]
            dst.writestr(info, data)
    return out.getvalue()


def c21(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    _signers(ctx, world, initiative, 1)
    status, batch = export(ctx, world, initiative)
    if status != 201:
        raise RuntimeError(f"export: {status}")
    bid = batch["id"]
    for what, token in (
        ("no credential", None),
        ("a wrong token", "x" * 43),
        ("the admin token", world.target.admin_token),
        ("a platform key", initiative.platform_key),
    ):
        answer = download(world, bid, token)
        ctx.expect(answer.status in (401, 403, 404, 410), f"download with {what}: {answer.brief()}")
    token = new_token(world, bid)
    first = download(world, bid, token)
    ctx.expect(first.status == 200, f"download with a fresh one-time token: {first.brief()}")
    used = download(world, bid, token)
    ctx.expect(used.status in (401, 403, 410), f"the same token again: {used.brief()}")
    _, received = receive(world, first.body)
    world.target.admin(
        "POST",
        f"/v1/batches/{bid}/acknowledgement",
        data=received["acknowledgement"].encode(),
        headers={"Content-Type": "text/plain"},
    )
    after = world.target.admin("POST", f"/v1/batches/{bid}/download-token")
    if after.status == 201:
        late = download(world, bid, after.json["token"])
        ctx.expect(
            late.status in (401, 403, 409, 410), f"download after acknowledgement: {late.brief()}"
        )
    else:
        ctx.expect(
            after.status in (403, 409, 410), f"token after acknowledgement refused: {after.brief()}"
        )
    downloads = world.target.admin_ok("GET", f"/v1/batches/{bid}")["downloads"]
    ctx.expect(downloads == 1, f"downloads counted: {downloads} (one successful)")


def c26(ctx: Context, world: World) -> None:
    command = world.options.retention_command
    if not command:
        raise Skip(
            "needs --retention-command (the target's retention run, e.g. "
            "'sigsvc retention purge' in its environment)"
        )
    initiative = world.initiative(ctx)
    _signers(ctx, world, initiative, 2)
    flow = export_and_receive(ctx, world, initiative)
    closed = world.target.admin("POST", f"/v1/initiatives/{initiative.id}/close")
    ctx.note(f"close: {closed.brief()}")
    env = dict(os.environ)
    if world.options.env_file:
        for raw in Path(world.options.env_file).read_text(encoding="utf-8").splitlines():
            line = raw.strip().removeprefix("export ")
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                env[name] = shlex.split(value)[0] if value else ""
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    ctx.note(
        f"$ {command} -> exit {done.returncode}: {done.stdout.strip()[:300]}"
        f" {done.stderr.strip()[-300:]}"
    )
    ctx.expect(done.returncode == 0, f"retention command exit {done.returncode}")
    batch = world.target.admin_ok("GET", f"/v1/batches/{flow.batch['id']}")
    ctx.expect(batch.get("purged_at") is not None, f"batch purged_at {batch.get('purged_at')}")
    token = world.target.admin("POST", f"/v1/batches/{flow.batch['id']}/download-token")
    if token.status == 201:
        gone = download(world, flow.batch["id"], token.json["token"])
        ctx.expect(gone.status in (404, 409, 410), f"purged batch download: {gone.brief()}")
    size = fence(ctx, world, world.initiative(ctx))
    types = [e["type"] for e in events_of(world, initiative, size)]
    ctx.expect("data.purged" in types, f"purge logged: {types}")
    export_path = world.save("c26-log.tar", world.target.request("GET", "/v1/log/export").body)
    code, _, text = world.sigaudit("verify", str(export_path), "--key", world.log_key)
    ctx.expect(code == 0, f"the log still verifies after the purge: exit {code} {text[:200]}")


CHECKS = [
    CheckSpec(
        "C14",
        "withdrawal",
        "before export: excluded from later batches, event logged; after: refused, batch unchanged",
        "withdraw before export; try again after export",
        "A, P",
        "no Latvian text found; good practice and analogues (Rahvaalgatus, "
        "kansalaisaloite.fi): a signer may withdraw until the signatures are handed over",
        c14,
    ),
    CheckSpec(
        "C19",
        "batch format",
        "one sealed container: manifest, every signer's container "
        "unchanged, operator seal; validates with an independent validator",
        "export a batch",
        "L*, A",
        "MK 471 Ch. III (handover to CVK); Law Art. 24",
        c19,
    ),
    CheckSpec(
        "C20",
        "batch tamper evidence and completeness",
        "refused by the receiver; count = "
        "valid, not withdrawn, not duplicate; re-export gives the same manifest digest",
        "remove or change one signer file; compare the count with the database",
        "P",
        "MK 471 Ch. II (integrity); good practice",
        c20,
    ),
    CheckSpec(
        "C21",
        "export access control",
        "401/403/410-class answers; every download logged",
        "download without credential, with a wrong or used token, after acknowledgement",
        "A",
        "MK 471 Ch. II (access control); analogue: Reg. 2019/1799",
        c21,
    ),
    CheckSpec(
        "C26",
        "retention and purge",
        "personal data deleted; the log still verifies; the purge is logged",
        "initiative closed, batch acknowledged, retention elapsed",
        "A, P",
        "GDPR Art. 5(1)(e) (storage limitation); Law Art. 24 (CVK has the data)",
        c26,
        needs="--retention-command",
    ),
]
