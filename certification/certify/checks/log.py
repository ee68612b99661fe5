"""C11 one signature per person, C12 independence across initiatives, C15 offline log
integrity, C16 append-only, C17 completeness and replay, C18 no clear personal codes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa

from audit.export import decode_bundle, encode_bundle
from audit.tar import TarWriter
from certification.certify.checks.common import count_types, events, events_of, fence
from certification.certify.model import CheckSpec, Context, Skip
from certification.certify.world import World
from crypto.form import FormKind


def c11(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    _, second_key = world.platform(ctx, [initiative.id])
    who = world.citizen()
    first = world.post(ctx, initiative, world.signed(initiative, who), "via platform 1")
    world.expect_accepted(ctx, first, "first signature (platform 1)")
    again = world.post(
        ctx, initiative, world.signed(initiative, who), "via platform 2", platform_key=second_key
    )
    world.expect_refused(ctx, again, "DUPLICATE", "second signature (platform 2)")
    counts = world.target.request("GET", f"/v1/public/initiatives/{initiative.id}").json["counts"]
    ctx.expect(counts.get("accepted") == 1, f"public count accepted = 1: {counts}")
    size = fence(ctx, world, initiative)
    evs = events_of(world, initiative, size)
    rejected = [e for e in evs if e["type"] == "signature.rejected"]
    ctx.expect(
        count_types(evs).get("signature.accepted") == 2  # the person and the fence
        and [e.get("reason") for e in rejected] == ["DUPLICATE"],
        f"both attempts logged (accepted + rejected DUPLICATE): {count_types(evs)}",
    )


def c12(ctx: Context, world: World) -> None:
    x, y = world.initiative(ctx), world.initiative(ctx)
    who = world.citizen()
    a = world.post(ctx, x, world.signed(x, who), "signs X")
    b = world.post(ctx, y, world.signed(y, who), "signs Y")
    world.expect_accepted(ctx, a, "X")
    world.expect_accepted(ctx, b, "Y")
    size = fence(ctx, world, y)
    leaves = {e.get("signature"): e for e in events(world, 0, size)}
    ea, eb = leaves.get(a.json.get("id")), leaves.get(b.json.get("id"))
    ctx.expect(ea is not None and eb is not None, "both acceptances are in the log")
    if ea and eb:
        ctx.expect(
            ea["signer"] != eb["signer"],
            f"keyed pseudonyms differ across initiatives: {ea['signer'][:12]}… vs "
            f"{eb['signer'][:12]}…",
        )


def _export(world: World) -> bytes:
    answer = world.target.request("GET", "/v1/log/export", timeout=300)
    if answer.status != 200:
        raise RuntimeError(f"GET /v1/log/export: {answer.brief()}")
    return answer.body


def _members(tar: bytes) -> list[tuple[str, bytes]]:
    out, pos = [], 0
    while pos + 512 <= len(tar) and tar[pos : pos + 512] != b"\0" * 512:
        name = tar[pos : pos + 100].rstrip(b"\0").decode()
        size = int(tar[pos + 124 : pos + 135], 8)
        out.append((name, tar[pos + 512 : pos + 512 + size]))
        pos += 512 + (size + 511) // 512 * 512
    return out


def _rebuild(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    writer = TarWriter(buf)
    for name, data in members:
        writer.add(name, data)
    writer.close()
    return buf.getvalue()


def _tamper(tar: bytes, k: int, how: str) -> bytes:
    members = _members(tar)
    bundle_no = k // 256
    for i, (name, data) in enumerate(members):
        if name.startswith("tile/entries/") and _bundle_number(name) == bundle_no:
            width = int(name.split(".p/")[1]) if ".p/" in name else 256
            leaves = decode_bundle(data, width)
            j = k % 256
            if how == "flip":
                leaf = bytearray(leaves[j])
                leaf[len(leaf) // 2] ^= 0x01
                leaves[j] = bytes(leaf)
            elif how == "delete":
                del leaves[j]
            else:
                leaves[j], leaves[j + 1] = leaves[j + 1], leaves[j]
            members[i] = (name, encode_bundle(leaves))
            return _rebuild(members)
    raise RuntimeError(f"no entry bundle for index {k}")


def _bundle_number(name: str) -> int:
    path = name.removeprefix("tile/entries/").split(".p/")[0]
    return int("".join(part.removeprefix("x") for part in path.split("/")))


def c15(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    first = world.post(ctx, initiative, world.signed(initiative, world.citizen()), "entry k")
    world.expect_accepted(ctx, first, "signature whose leaf is entry k")
    world.post(ctx, initiative, world.signed(initiative, world.citizen()), "entry k+1")
    fence(ctx, world, initiative)
    k = int(first.json["leaf_index"])
    if k % 256 == 255:  # keep k and k+1 in one bundle for the reorder case
        k -= 1
    tar = _export(world)
    ctx.input("log export", tar)
    path = world.save("c15.tar", tar)
    code, doc, text = world.sigaudit("verify", str(path), "--key", world.log_key)
    ctx.expect(code == 0, f"original export verifies offline: {text[:200]}")
    for how in ("flip", "delete", "reorder"):
        bad = _tamper(tar, k, how)
        ctx.input(f"export, entry {k} {how}", bad)
        code, doc, text = world.sigaudit(
            "verify", str(world.save(f"c15-{how}.tar", bad)), "--key", world.log_key
        )
        error = (doc or {}).get("error") or {}
        ctx.expect(
            code != 0 and error.get("index") == k,
            f"{how} entry {k}: sigaudit exit {code}, first bad index "
            f"{error.get('index')} ({error.get('kind')})",
        )


def c16(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    answer = world.post(ctx, initiative, world.signed(initiative, world.citizen()), "signature")
    world.expect_accepted(ctx, answer, "a signature to attack")
    sid = answer.json["id"]
    for method, path, token in (
        ("DELETE", f"/v1/signatures/{sid}", initiative.platform_key),
        ("PUT", f"/v1/signatures/{sid}", world.target.admin_token),
        ("PATCH", f"/v1/signatures/{sid}", world.target.admin_token),
        ("DELETE", f"/v1/signatures/{sid}", world.target.admin_token),
        ("DELETE", "/v1/log/entries?start=0&end=1", world.target.admin_token),
        ("PUT", "/v1/log/checkpoint", world.target.admin_token),
    ):
        reply = world.target.request(method, path, token=token, json={})
        ctx.expect(
            reply.status in (403, 404, 405), f"API {method} {path.split('?')[0]}: {reply.brief()}"
        )
    still = world.target.request("GET", f"/v1/signatures/{sid}", token=initiative.platform_key)
    ctx.expect(
        still.status == 200 and still.json.get("status") == "accepted", "the signature is unchanged"
    )
    url = world.options.database_url
    if not url:
        ctx.note(
            "database part not run: give --database-url (a role of the target's "
            "database) to also try UPDATE/DELETE on the log tables"
        )
        if ctx.failed:
            return
        raise Skip("API part passed; the database part needs --database-url")
    engine = sa.create_engine(url)
    try:
        for statement in (
            "UPDATE audit_log_entries SET data = data WHERE idx = (SELECT MIN(idx) FROM "
            "audit_log_entries)",
            "DELETE FROM audit_log_entries WHERE idx = (SELECT MAX(idx) FROM audit_log_entries)",
            "DELETE FROM audit_log_checkpoints",
        ):
            with engine.connect() as conn:
                trans = conn.begin()
                try:
                    conn.execute(sa.text(statement))
                    refused = None
                except sa.exc.DBAPIError as exc:
                    refused = str(exc.orig).splitlines()[0][:160]
                finally:
                    trans.rollback()  # never change the target, whatever the role may do
            ctx.expect(
                refused is not None, f"database refuses `{statement.split(' WHERE')[0]}`: {refused}"
            )
    finally:
        engine.dispose()


def c17(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    a, b, c = world.citizen(), world.citizen(), world.citizen(new_format=True)
    received = world.post(ctx, initiative, world.signed(initiative, a), "receive A")
    world.post(ctx, initiative, world.signed(initiative, b, level="B"), "reject B")
    world.post(ctx, initiative, world.signed(initiative, a), "duplicate A")
    world.post(ctx, initiative, world.signed(initiative, c), "receive C")
    world.post(
        ctx,
        initiative,
        world.signed(initiative, c, kind=FormKind.WITHDRAWAL),
        "withdraw C",
        kind="withdrawals",
    )
    from certification.certify.checks.batches import export_and_receive

    # every batch goes to the reference receiver: it witnesses the log, batch after batch
    batch = export_and_receive(ctx, world, initiative).batch
    size = fence(ctx, world, world.initiative(ctx))
    evs = events_of(world, initiative, size)
    types = count_types(evs)
    ctx.note(f"events of the initiative: {types}")
    want = {
        "initiative.registered": 1,
        "signature.accepted": 2,
        "signature.rejected": 2,
        "signature.withdrawn": 1,
        "batch.exported": 1,
    }
    for kind, n in want.items():
        ctx.expect(types.get(kind, 0) == n, f"{kind}: {types.get(kind, 0)} (expected {n})")
    counts = world.target.request("GET", f"/v1/public/initiatives/{initiative.id}").json["counts"]
    replay_accepted = types.get("signature.accepted", 0) - types.get("signature.withdrawn", 0)
    ctx.note(f"public counts {counts}")
    ctx.expect(
        counts.get("accepted") == replay_accepted,
        f"replayed accepted-not-withdrawn {replay_accepted} = service's {counts.get('accepted')}",
    )
    ctx.expect(
        counts.get("withdrawn") == types.get("signature.withdrawn", 0),
        f"replayed withdrawn = service's {counts.get('withdrawn')}",
    )
    rejected = counts.get("rejected")
    total = sum(rejected.values()) if isinstance(rejected, dict) else rejected
    ctx.expect(
        total == types.get("signature.rejected", 0),
        f"replayed rejected {types.get('signature.rejected', 0)} = service's {total}",
    )
    receipt = world.target.request(
        "GET", f"/v1/signatures/{received.json['id']}", token=initiative.platform_key
    ).json.get("receipt")
    if receipt:
        path = world.save("c17-receipt.tlog", receipt.encode())
        code, _, text = world.sigaudit(
            "verify-receipt", str(path), "--key", world.log_key, "--origin", world.log_origin
        )
        ctx.expect(
            code == 0,
            f"A's receipt verifies offline (sigaudit verify-receipt): {code} {text[:160]}",
        )
    else:
        ctx.expect(False, "A's receipt is there once a checkpoint covers it")
    ctx.expect(
        batch.get("count") == replay_accepted,
        f"batch count {batch.get('count')} = replayed {replay_accepted}",
    )


def _patterns(world: World) -> list[re.Pattern[bytes]]:
    codes = world.mint.codes
    out = []
    for code in codes:
        digits = code.replace("-", "")
        if len(digits) == 11 and digits.isdigit():
            out.append(re.compile(digits[:6].encode() + b"-?" + digits[6:].encode()))
    return out


def c18(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    for i in range(3):
        who = world.citizen(new_format=i == 1)
        world.post(
            ctx,
            initiative,
            world.signed(initiative, who, level="B" if i == 2 else "LT"),
            f"signature {i}",
        )
    # a form request for a person who never signs, the code also as the request id
    probe = world.citizen()
    world.target.request(
        "GET",
        f"/v1/initiatives/{initiative.id}/form",
        token=initiative.platform_key,
        params={
            "given_name": probe.given_name,
            "surname": probe.surname,
            "personal_code": probe.personal_code,
            "date": world.today().isoformat(),
        },
        headers={"X-Request-Id": probe.personal_code},
    )
    fence(ctx, world, initiative)
    patterns = _patterns(world)
    ctx.note(
        f"searching for {len(patterns)} personal codes used in this run (with and without hyphen)"
    )
    sources: list[tuple[str, bytes]] = [("log export", _export(world))]
    metrics = world.target.request("GET", "/metrics")
    if metrics.status == 200:
        sources.append(("/metrics", metrics.body))
    else:
        ctx.note(f"/metrics: {metrics.brief()} (not searched)")
    app_log = world.options.app_log
    if app_log:
        sources.append(("application log", Path(app_log).read_bytes()))
    else:
        ctx.note("application log not searched: give --app-log FILE (the target's log output)")
    for name, data in sources:
        found = sorted({m.group().decode() for p in patterns for m in p.finditer(data)})
        ctx.expect(
            not found,
            f"{name} ({len(data)} bytes): {len(found)} clear personal codes"
            + (f" e.g. {found[0][:6]}…" if found else ""),
        )
    if not app_log and not ctx.failed:
        raise Skip("log export and metrics clean; the application log needs --app-log")


CHECKS = [
    CheckSpec(
        "C11",
        "one signature per person per initiative",
        "exactly one counted, second refused, both attempts logged",
        "same person twice, through two platforms",
        "L*, A",
        "Law Art. 22; MK 471 Ch. II; analogue: Reg. (EU) 2019/1799",
        c11,
    ),
    CheckSpec(
        "C12",
        "independence across initiatives",
        "both accepted; stored keys do not link X and Y",
        "same person signs X and Y",
        "A",
        "GDPR Art. 25; analogue: Reg. 2019/1799",
        c12,
    ),
    CheckSpec(
        "C15",
        "log integrity, offline",
        "original verifies; each tamper fails at entry k",
        "export the log; flip a byte in entry k; delete k; reorder two entries",
        "P",
        "MK 471 Ch. II (event logging, integrity)",
        c15,
    ),
    CheckSpec(
        "C16",
        "append-only",
        "refused by the application and by the database",
        "update or delete a log entry or signature record through the API or the database role",
        "P",
        "MK 471 Ch. II (integrity of records)",
        c16,
        needs="--database-url",
    ),
    CheckSpec(
        "C17",
        "completeness and replay",
        "exactly one log event per state change; replaying the log gives the database's counts",
        "receive → reject → duplicate → withdraw → export (purge: C26)",
        "P",
        "MK 471 Ch. II (event logging)",
        c17,
    ),
    CheckSpec(
        "C18",
        "no clear personal codes",
        "none found",
        "grep application logs, log leaves, exports, metrics",
        "A, P",
        "GDPR Art. 5(1)(c), 32; MK 471 Ch. II",
        c18,
        needs="--app-log",
    ),
]
