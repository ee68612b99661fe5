"""C22 platform authorisation, C23 hostile input, C24 transport security, C25 encryption at
rest, C27 anti-automation."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

from certification.certify.model import CheckSpec, Context, Skip
from certification.certify.target import ASICE
from certification.certify.world import World
from certification.testpki.asice import Entry, replace_entry

SIGNATURE_FILE = "META-INF/edoc-signatures-S1.xml"


def c22(ctx: Context, world: World) -> None:
    x, y = world.initiative(ctx), world.initiative(ctx)
    container = world.signed(x, world.citizen())
    other = world.post(ctx, x, container, "platform of Y posts for X", platform_key=y.platform_key)
    ctx.expect(other.status in (403, 404), f"platform not allowed for X: {other.brief()}")
    anonymous = world.target.request(
        "POST",
        f"/v1/initiatives/{x.id}/signatures",
        data=container,
        headers={"Content-Type": ASICE, "Idempotency-Key": "anon-1"},
    )
    ctx.expect(anonymous.status == 401, f"no credential: {anonymous.brief()}")
    wrong = world.post(ctx, x, container, "wrong key", platform_key="sgsv_" + "A" * 40)
    ctx.expect(wrong.status == 401, f"unknown platform key: {wrong.brief()}")
    key = f"certify-replay-{uuid.uuid4()}"
    first = world.post(ctx, x, container, "original", idempotency_key=key)
    world.expect_accepted(ctx, first, "original post")
    replay = world.post(ctx, x, container, "replay", idempotency_key=key)
    ctx.expect(
        replay.status == first.status
        and replay.body == first.body
        and replay.headers.get("Idempotent-Replayed") == "true",
        f"replay: same answer, Idempotent-Replayed {replay.headers.get('Idempotent-Replayed')}",
    )
    changed = world.post(
        ctx, x, world.signed(x, world.citizen()), "same key, other body", idempotency_key=key
    )
    ctx.expect(changed.status == 409, f"same key, other body: {changed.brief()}")
    missing = world.target.request(
        "POST",
        f"/v1/initiatives/{x.id}/signatures",
        data=container,
        token=x.platform_key,
        headers={"Content-Type": ASICE},
    )
    ctx.expect(400 <= missing.status < 500, f"no Idempotency-Key: {missing.brief()}")
    counts = world.target.request("GET", f"/v1/public/initiatives/{x.id}").json["counts"]
    ctx.expect(counts.get("accepted") == 1, f"exactly one counted: {counts}")


def _zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return out.getvalue()


def c23(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    who = world.citizen()
    good = world.signed(initiative, who)
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        signature = z.read(SIGNATURE_FILE)
    body = signature.split(b"?>", 1)[1] if signature.startswith(b"<?xml") else signature
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + body
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
        )
        + b"]>"
        + body.replace(b"</ds:SignatureValue>", b"&i;</ds:SignatureValue>", 1)
    )
    # quadratic canonicalisation: 20,000 namespace declarations on the root element
    root_end = body.find(b">")
    declarations = b"".join(b' xmlns:n%d="urn:n%d"' % (i, i) for i in range(20000))
    namespaces = body[:root_end] + declarations + body[root_end:]
    deep = body.replace(
        b"</ds:SignatureValue>",
        b"</ds:SignatureValue>" + b"<x>" * 5000 + b"</x>" * 5000,
        1,
    )
    # wrapping: a second, altered copy of the signed properties under the same Id
    start = body.find(b"<xades:SignedProperties")
    end = body.find(b"</xades:SignedProperties>") + len(b"</xades:SignedProperties>")
    wrapped = body
    if start > 0:
        fake = body[start:end].replace(b"<xades:SigningTime>", b"<xades:SigningTime>1", 1)
        wrapped = body.replace(
            b"</ds:Signature>", b"<ds:Object>" + fake + b"</ds:Object></ds:Signature>", 1
        )
    bomb = _zip(
        [
            ("mimetype", ASICE.encode(), zipfile.ZIP_STORED),
            ("paraksta-veidlapa.txt", b"\0" * (128 * 1024 * 1024), zipfile.ZIP_DEFLATED),
        ]
    )
    traversal = world.signed(initiative, who, extra_entries=[Entry("../../etc/cron.d/x", b"x")])
    limit = 10 * 1024 * 1024
    cases = [
        (
            "DTD with external entity (XXE)",
            replace_entry(good, SIGNATURE_FILE, xxe),
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER"),
        ),
        (
            "entity expansion (billion laughs)",
            replace_entry(good, SIGNATURE_FILE, laughs),
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER"),
        ),
        (
            "signature wrapping (duplicate SignedProperties)",
            replace_entry(good, SIGNATURE_FILE, wrapped),
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER", "SIGNATURE_INVALID"),
        ),
        (
            "zip bomb (128 MiB of zeros deflated to 128 KiB)",
            bomb,
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER", "TOO_LARGE"),
        ),
        (
            "path traversal entry ../../etc/cron.d/x",
            traversal,
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER"),
        ),
        (
            "20,000 namespace declarations",
            replace_entry(good, SIGNATURE_FILE, namespaces),
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER"),
        ),
        (
            "5,000 nested elements",
            replace_entry(good, SIGNATURE_FILE, deep),
            ("UNSAFE_INPUT", "MALFORMED_CONTAINER", "SIGNATURE_INVALID"),
        ),
        ("not a ZIP", b"<html>" + b"A" * 1000, ("MALFORMED_CONTAINER", "UNSUPPORTED_FORMAT")),
    ]
    for what, data, reasons in cases:
        t0 = time.monotonic()
        answer = world.post(ctx, initiative, data, what)
        took = time.monotonic() - t0
        world.expect_refused(ctx, answer, reasons, what)
        ctx.expect(took < 10, f"{what}: answered in {took:.2f} s (bound 10 s)")
    t0 = time.monotonic()
    try:
        big = world.target.request(
            "POST",
            f"/v1/initiatives/{initiative.id}/signatures",
            token=initiative.platform_key,
            headers={"Content-Type": ASICE, "Idempotency-Key": f"big-{uuid.uuid4()}"},
            data=b"0" * (limit + 1),
        )
        ctx.expect(
            big.status == 413,
            f"oversized body ({limit + 1} bytes): {big.brief()} in {time.monotonic() - t0:.2f} s",
        )
    except Exception as exc:  # a server may close the connection early: still refused
        ctx.note(f"oversized body: connection closed by the server ({type(exc).__name__})")
    counts = world.target.request("GET", f"/v1/public/initiatives/{initiative.id}").json["counts"]
    ctx.expect(counts.get("accepted") == 0, f"nothing accepted: {counts}")
    ok = world.post(ctx, initiative, good, "the untouched container")
    world.expect_accepted(ctx, ok, "the service still works: the untouched container")
    ctx.note("memory is bounded by the target's own limits; this suite measures time only")


def _handshake(host: str, port: int, version: ssl.TLSVersion, ciphers: str | None = None) -> str:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = version
        context.maximum_version = version
        context.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as exc:
        return f"client cannot offer it ({exc})"
    try:
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cipher = tls.cipher()
            return f"accepted {tls.version()} {cipher[0] if cipher else '?'}"
    except ssl.SSLError as exc:
        if "NO_PROTOCOLS_AVAILABLE" in str(exc) or "NO_CIPHERS" in str(exc).upper():
            return f"client cannot offer it ({exc.reason})"
        return f"refused ({exc.reason})"
    except OSError as exc:
        return f"refused ({type(exc).__name__})"


def c24(ctx: Context, world: World) -> None:
    url = urlsplit(world.target.base)
    if url.scheme != "https":
        raise Skip(
            f"target is {url.scheme}:// ({url.netloc}): transport security needs an "
            "https:// target (TLS terminated by the deployment or its proxy)"
        )
    host, port = url.hostname or "", url.port or 443
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        result = _handshake(host, port, version)
        if result.startswith("client cannot"):
            ctx.note(f"{version.name}: not tested, {result}")
            continue
        ctx.expect(not result.startswith("accepted"), f"{version.name}: {result}")
    modern = _handshake(host, port, ssl.TLSVersion.TLSv1_2, "ECDHE+AESGCM:ECDHE+CHACHA20")
    ctx.expect(modern.startswith("accepted"), f"TLS 1.2 with AEAD: {modern}")
    for weak in ("RC4", "3DES", "NULL", "EXPORT", "aNULL", "CBC"):
        cipher = {"3DES": "DES-CBC3-SHA", "CBC": "AES128-SHA"}.get(weak, weak)
        result = _handshake(host, port, ssl.TLSVersion.TLSv1_2, cipher + ":@SECLEVEL=0")
        if weak == "CBC":
            ctx.note(f"TLS 1.2 {cipher} (static RSA, CBC): {result}")
            continue
        if result.startswith("client cannot"):
            ctx.note(f"weak cipher {cipher}: not tested, {result}")
            continue
        ctx.expect(not result.startswith("accepted"), f"weak cipher {cipher}: {result}")
    reply = world.target.request("GET", "/healthz")
    hsts = reply.headers.get("Strict-Transport-Security", "")
    ctx.expect(
        "max-age=" in hsts and _max_age(hsts) >= 15552000, f"HSTS (max-age ≥ 180 days): {hsts!r}"
    )
    try:
        with socket.create_connection((host, port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            plain = raw.recv(200)
    except OSError:
        plain = b""
    ctx.expect(b"200 OK" not in plain[:40], f"plain HTTP on the TLS port: {plain[:40]!r}")


def _max_age(header: str) -> int:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return int(value)
    return 0


def c25(ctx: Context, world: World) -> None:
    url = world.options.database_url
    if not url:
        raise Skip("needs --database-url (a read-only role of the target's database)")
    initiative = world.initiative(ctx)
    people = [world.citizen(), world.citizen(new_format=True)]
    for who in people:
        world.post(ctx, initiative, world.signed(initiative, who), "signature")
    needles: dict[str, bytes] = {}
    for who in people:
        needles[f"personal code {who.personal_code[:6]}…"] = who.personal_code.encode()
        needles[f"code without hyphen {who.personal_code[:6]}…"] = who.personal_code.replace(
            "-", ""
        ).encode()
        needles[f"surname {who.surname}"] = who.surname.encode()
        needles[f"certificate of {who.surname}"] = who.signer.cert_der[-64:]
    needles["form v1 text"] = b"Paraksta veidlapa: v1"
    needles["container member name"] = b"paraksta-veidlapa.txt"
    engine = sa.create_engine(url)
    hits: dict[str, list[str]] = {}
    rows = 0
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in inspector.get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    rows += 1
                    blob = b"\x00".join(
                        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                        for v in row
                    )
                    for name, needle in needles.items():
                        if needle in blob:
                            hits.setdefault(name, []).append(table)
            for table in inspector.get_table_names():
                if "data_key" not in table:  # the wrapped data keys (DESIGN: envelope)
                    continue
                sizes = {
                    len(bytes(v))
                    for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))
                    for v in row
                    if isinstance(v, bytes | memoryview)
                }
                ctx.note(f"{table}: binary value sizes {sorted(sizes)} (a bare AES-256 key is 32)")
                ctx.expect(32 not in sizes, f"{table}: no 32-byte key stored unwrapped")
    finally:
        engine.dispose()
    ctx.note(f"read {rows} rows in every table")
    for name in needles:
        ctx.expect(name not in hits, f"{name} in clear: {sorted(set(hits.get(name, []))) or 'no'}")


def c27(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    who = world.citizen()
    signer_answers = []
    for i in range(8):
        answer = world.post(ctx, initiative, world.signed(initiative, who), f"same person #{i + 1}")
        signer_answers.append(answer)
        if answer.status == 429:
            break
    statuses = [a.status for a in signer_answers]
    limited = [a for a in signer_answers if a.status == 429]
    ctx.expect(bool(limited), f"burst for one person: {statuses}")
    if limited:
        ctx.expect(
            limited[0].headers.get("Retry-After", "").isdigit(),
            f"Retry-After: {limited[0].headers.get('Retry-After')!r}",
        )
    _, key = world.platform(ctx, [initiative.id])
    url = f"{world.target.base}/v1/initiatives/{initiative.id}/signatures"
    limited_platform: list[str] = []
    sent = [0]
    t0 = time.monotonic()

    def hammer() -> None:
        with requests.Session() as session:
            while not limited_platform and sent[0] < 1000:
                sent[0] += 1
                reply = session.post(
                    url,
                    data=b"x",
                    timeout=30,
                    verify=world.target.verify,
                    headers={
                        "Authorization": f"Bearer {key}",
                        "Content-Type": "text/plain",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )
                if reply.status_code == 429:
                    limited_platform.append(reply.headers.get("Retry-After", ""))

    workers = [threading.Thread(target=hammer) for _ in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ctx.expect(
        bool(limited_platform) and limited_platform[0].isdigit(),
        f"burst for one platform: 429 after {sent[0]} requests in "
        f"{time.monotonic() - t0:.1f} s, Retry-After {limited_platform[:1]}",
    )
    if world.options.app_log:
        text = Path(world.options.app_log).read_text(errors="replace")
        ctx.expect("rate_limited" in text or "429" in text, "throttling is logged")
    else:
        ctx.note("throttling log not checked: give --app-log")


CHECKS = [
    CheckSpec(
        "C22",
        "platform authorisation",
        "refused; idempotency keys stop replays",
        "a platform posts for an initiative it may not; no credential; a replay",
        "L*, P",
        "MK 471 Ch. II (authentication of systems); Law Art. 22",
        c22,
    ),
    CheckSpec(
        "C23",
        "hostile input",
        "refused safely, bounded memory and time",
        "DTD/XXE, signature wrapping, zip bomb, path traversal, oversized body",
        "A",
        "MK 471 Ch. II (protection against attacks); OWASP ASVS V12–V13",
        c23,
    ),
    CheckSpec(
        "C24",
        "transport security",
        "refused; TLS ≥ 1.2; HSTS",
        "TLS 1.0/1.1, plain HTTP, weak ciphers",
        "A, P",
        "MK 471 Ch. II (encrypted transfer); ENISA/NIST SP 800-52r2",
        c24,
        needs="https:// target",
    ),
    CheckSpec(
        "C25",
        "encryption at rest",
        "names, personal codes and containers encrypted; keys outside the database",
        "inspect a database dump or backup",
        "A",
        "GDPR Art. 32; MK 471 Ch. II (protection of stored data)",
        c25,
        needs="--database-url",
    ),
    CheckSpec(
        "C27",
        "anti-automation",
        "throttled with 429 + Retry-After, logged",
        "burst of attempts for one person or one platform",
        "A",
        "MK 471 Ch. II; analogue: Reg. 2019/1799 (anti-bot)",
        c27,
    ),
]
