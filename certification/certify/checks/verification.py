"""C1–C10, C13, C28: what the deployment accepts as a signature, at its own verification.

Each case is a fresh TEST citizen signing (XAdES-LT: time stamp and OCSP embedded) at a chosen
instant; the expected answer is a 201 or a 4xx with one docs/design.md reason code.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from certification.certify.citizens import QC_STATEMENTS, SIGNING_ONLY, Citizen
from certification.certify.model import CheckSpec, Context
from certification.certify.world import RIGA, World
from certification.testpki import pki
from certification.testpki.personal_code import old_format_code, with_wrong_check_digit
from crypto.form import Regime


def _roster(label: str) -> Citizen:
    subject = pki.cert(label).subject.native
    return Citizen(
        subject["given_name"], subject["surname"], subject["serial_number"], pki.signer(label)
    )


def _old_code(born: date) -> str:
    for _ in range(50):
        try:
            return old_format_code(born, secrets.randbelow(1000))
        except ValueError:
            continue
    raise RuntimeError("no old-format code")


def c1(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    born = date(1980 + secrets.randbelow(20), 1 + secrets.randbelow(12), 1 + secrets.randbelow(28))
    valid = world.citizen(code=_old_code(born))
    world.expect_accepted(
        ctx,
        world.post(ctx, initiative, world.signed(initiative, valid), "valid old-format code"),
        "valid old-format code",
    )
    good = _old_code(born)
    cases = {  # class of defect -> certificate serialNumbers of that class
        "bad check digit": [f"PNOLV-{with_wrong_check_digit(good)}"],
        "impossible date (31 February)": [f"PNOLV-310285-1{good[-4:]}"],
        "wrong length or letters": [f"PNOLV-{good}1", f"PNOLV-{good[:3]}O{good[4:]}"],
    }
    messages: dict[str, str] = {}
    for what, serials in cases.items():
        for serial in serials:
            who = world.citizen(serial_number=serial)
            answer = world.post(ctx, initiative, world.signed(initiative, who), f"cert: {what}")
            world.expect_refused(ctx, answer, "INVALID_PERSONAL_CODE", f"certificate: {what}")
            messages.setdefault(what, answer.message)
    ctx.note(f"messages: {messages}")
    ctx.expect(
        len(set(messages.values())) == len(messages),
        "each class of defect is refused with a distinct message",
    )
    # what a platform types: the form endpoint takes DDMMYY-NNNNN only
    for what, typed in (
        ("hyphen missing", good.replace("-", "")),
        ("letters", "15O675-14827"),
        ("wrong length", good + "1"),
    ):
        answer = world.target.request(
            "GET",
            f"/v1/initiatives/{initiative.id}/form",
            token=initiative.platform_key,
            params={
                "given_name": valid.given_name,
                "surname": valid.surname,
                "personal_code": typed,
                "date": world.today().isoformat(),
            },
        )
        ctx.expect(answer.status == 400, f"form endpoint, code with {what}: {answer.brief()}")


def c2(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    for prefix in ("32", "35", "39"):
        who = world.citizen(new_format=False, code=_new(prefix))
        answer = world.post(ctx, initiative, world.signed(initiative, who), f"new format {prefix}")
        if world.expect_accepted(ctx, answer, f"new-format code {prefix}… (any check digit)"):
            ctx.expect(
                answer.json.get("eligibility") == "for_cvk",
                f"no birth date derived: eligibility {answer.json.get('eligibility')}",
            )
    for prefix in ("30", "31"):
        # a 3[01]... code that is not a valid old-format code either (century digit 5-9)
        code = (
            f"{prefix}{secrets.randbelow(10)}{secrets.randbelow(10)}{secrets.randbelow(10)}"
            f"{secrets.randbelow(10)}-{5 + secrets.randbelow(5)}{secrets.randbelow(10000):04d}"
        )
        who = world.citizen(code=code)
        answer = world.post(ctx, initiative, world.signed(initiative, who), f"code {prefix}…")
        world.expect_refused(ctx, answer, "INVALID_PERSONAL_CODE", f"{prefix}… code")


def _new(prefix: str) -> str:
    digits = prefix + "".join(str(secrets.randbelow(10)) for _ in range(9))
    return f"{digits[:6]}-{digits[6:]}"


def c3(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    world.expect_accepted(
        ctx,
        world.post(
            ctx, initiative, world.signed(initiative, world.citizen()), "(a) QES, CA granted"
        ),
        "(a) QES from a granted CA/QC",
    )
    untrusted = world.post(
        ctx, initiative, world.signed(initiative, _roster("untrusted")), "(b) CA not on the list"
    )
    world.expect_refused(ctx, untrusted, "UNTRUSTED_CHAIN", "(b) CA not on the trusted list")
    withdrawn = world.post(
        ctx, initiative, world.signed(initiative, _roster("withdrawn_ca")), "(b') CA/QC withdrawn"
    )
    world.expect_refused(
        ctx,
        withdrawn,
        ("NOT_QUALIFIED", "UNTRUSTED_CHAIN"),
        "(b') CA/QC service withdrawn before signing",
    )
    no_qc = world.citizen(drop=frozenset({QC_STATEMENTS}))
    answer = world.post(ctx, initiative, world.signed(initiative, no_qc), "(c) no QC statements")
    world.expect_refused(ctx, answer, "NOT_QUALIFIED", "(c) certificate without QC statements")


def c4(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    auth = world.citizen(key_usage=SIGNING_ONLY)
    answer = world.post(ctx, initiative, world.signed(initiative, auth), "no nonRepudiation")
    world.expect_refused(ctx, answer, "KEY_USAGE", "certificate without nonRepudiation")


def c5(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    now = world.now()
    revoked = world.citizen()
    world.ocsp.revoked[revoked.signer.cert.serial_number] = now - timedelta(days=1)
    answer = world.post(ctx, initiative, world.signed(initiative, revoked), "revoked")
    world.expect_refused(ctx, answer, "CERT_REVOKED", "revoked the day before signing")
    expired = world.citizen(not_before=now - timedelta(days=400), not_after=now - timedelta(days=2))
    answer = world.post(ctx, initiative, world.signed(initiative, expired), "expired")
    world.expect_refused(ctx, answer, "CERT_EXPIRED", "expired certificate")
    future = world.citizen(not_before=now + timedelta(days=30), not_after=now + timedelta(days=900))
    answer = world.post(ctx, initiative, world.signed(initiative, future), "not yet valid")
    world.expect_refused(ctx, answer, "CERT_NOT_YET_VALID", "not yet valid certificate")
    down = world.post(
        ctx,
        initiative,
        world.signed(initiative, _roster("ocsp_down"), level="T"),
        "OCSP responder unreachable",
    )
    ctx.expect(
        down.status == 503
        and down.code == "REVOCATION_UNAVAILABLE"
        and "Retry-After" in down.headers,
        f"responder unreachable: retry later (503 REVOCATION_UNAVAILABLE + Retry-After), "
        f"got {down.brief()}",
    )
    counts = world.target.request("GET", f"/v1/public/initiatives/{initiative.id}").json["counts"]
    ctx.expect(counts.get("accepted") == 0, f"nothing accepted: {counts}")


def c6(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    b = world.post(ctx, initiative, world.signed(initiative, world.citizen(), level="B"), "XAdES-B")
    world.expect_refused(ctx, b, "NO_TIMESTAMP", "no time stamp (XAdES-B)")
    unlisted = world.post(
        ctx,
        initiative,
        world.signed(initiative, world.citizen(), tsa="unlisted-tsa"),
        "TSA not granted as QTST",
    )
    world.expect_refused(ctx, unlisted, "TIMESTAMP_INVALID", "time stamp from a non-QTST TSA")
    ok = world.post(ctx, initiative, world.signed(initiative, world.citizen()), "granted QTST")
    world.expect_accepted(ctx, ok, "time stamp from a granted QTST")


def c7(ctx: Context, world: World) -> None:
    x, y = world.initiative(ctx), world.initiative(ctx)
    who = world.citizen()
    signed_for_x = world.signed(x, who)
    answer = world.post(ctx, y, signed_for_x, "form names X, posted for Y")
    world.expect_refused(ctx, answer, "DOCUMENT_MISMATCH", "form of X posted for Y")
    day = (world.default_instant() + timedelta(seconds=5)).astimezone(RIGA).date()
    for what, fields in (
        (
            "other registration number",
            replace(y.fields, registration_number=y.fields.registration_number + "-B"),
        ),
        ("other title", replace(y.fields, title=y.fields.title + " (grozīts)")),
        ("other text digest", replace(y.fields, text_sha256="0" * 64)),
    ):
        other = replace(y, fields=fields)
        form = world.local_form(other, who, day)
        answer = world.post(ctx, y, world.sign(form, who), what)
        world.expect_refused(ctx, answer, "DOCUMENT_MISMATCH", f"form with {what}")
    world.expect_accepted(
        ctx, world.post(ctx, y, world.signed(y, who), "own form"), "the same person's form for Y"
    )


def c8(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    who, other = world.citizen(), world.citizen()
    day = (world.default_instant() + timedelta(seconds=5)).astimezone(RIGA).date()
    renamed = replace(
        who, given_name=other.given_name if other.given_name != who.given_name else "PĒTERIS"
    )
    recoded = replace(who, serial_number=other.serial_number)
    for what, shown in (
        ("given name differs", renamed),
        ("personal code differs", recoded),
        ("another person's whole form", other),
    ):
        form = world.local_form(initiative, shown, day)
        answer = world.post(ctx, initiative, world.sign(form, who), what)
        world.expect_refused(ctx, answer, "IDENTITY_MISMATCH", f"form's {what}")


def c9(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    who = world.citizen()
    instant = world.default_instant()
    day = (instant + timedelta(seconds=5)).astimezone(RIGA).date()
    form = world.form(initiative, who, day)
    ctx.expect(
        form == world.local_form(initiative, who, day),
        "GET .../form gives exactly docs/design.md's form v1 bytes",
    )
    text = form.decode("utf-8")
    variants = {
        "Windows-1257": text.encode("cp1257"),
        "invalid UTF-8": form.replace(b"\n", b"\n\xff", 1),
        "BOM": b"\xef\xbb\xbf" + form,
        "NFD": unicodedata.normalize("NFD", text).encode(),
        "CRLF": text.replace("\n", "\r\n").encode(),
        "no final newline": form.rstrip(b"\n"),
    }
    for what, data in variants.items():
        ctx.expect(data != form, f"{what} differs from the form bytes")
        answer = world.post(ctx, initiative, world.sign(data, who, at=instant), what)
        world.expect_refused(
            ctx, answer, ("DOCUMENT_MISMATCH", "MALFORMED_CONTAINER"), f"form in {what}"
        )
    ok = world.post(ctx, initiative, world.sign(form, who, at=instant), "exact bytes")
    world.expect_accepted(ctx, ok, "exact form v1 bytes")


def _riga(day: date, hh: int, mm: int, ss: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=RIGA)


def c10(ctx: Context, world: World) -> None:
    today = world.today()
    start, end = today - timedelta(days=120), today - timedelta(days=10)
    initiative = world.initiative(ctx, starts_on=start, ends_on=end)
    for what, at, ok in (
        ("the day before registration", _riga(start - timedelta(days=1), 12, 0, 0), False),
        ("first day, 00:00:30 Riga", _riga(start, 0, 0, 25), True),
        ("last day, 23:59:00 Riga", _riga(end, 23, 58, 55), True),
        ("the day after the end", _riga(end + timedelta(days=1), 0, 0, 25), False),
    ):
        answer = world.post(ctx, initiative, world.signed(initiative, world.citizen(), at=at), what)
        if ok:
            world.expect_accepted(ctx, answer, f"time stamp on {what}")
        else:
            world.expect_refused(ctx, answer, "OUTSIDE_PERIOD", f"time stamp on {what}")
    from certification.certify.checks.common import count_types  # noqa: F401

    too_long = world.target.admin(
        "POST",
        "/v1/initiatives",
        json={
            "regime": "art22_bill",
            "registration_number": f"CERT-{world.run_id}-C10-long",
            "title": "T",
            "full_text": "T\n",
            "starts_on": start.isoformat(),
            "ends_on": _add_months(start, 12).isoformat(),
        },
    )
    ctx.expect(
        too_long.status == 400 and too_long.code == "PERIOD_TOO_LONG",
        f"a period over 12 months is refused at registration: {too_long.brief()}",
    )
    edge = world.target.admin(
        "POST",
        "/v1/initiatives",
        json={
            "regime": "art22_bill",
            "registration_number": f"CERT-{world.run_id}-C10-edge",
            "title": "T",
            "full_text": "T\n",
            "starts_on": start.isoformat(),
            "ends_on": (_add_months(start, 12) - timedelta(days=1)).isoformat(),
        },
    )
    ctx.expect(edge.status == 201, f"exactly 12 months is allowed: {edge.brief()}")


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _years_ago(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def c13(ctx: Context, world: World) -> None:
    # ages on the signing day, the time stamp's Riga date (not the runner's "today": a run a
    # minute after midnight signs yesterday)
    today = (world.default_instant() + timedelta(seconds=5)).astimezone(RIGA).date()
    adults = world.initiative(ctx, regime=Regime.ART22_BILL)
    youth = world.initiative(ctx, regime=Regime.SAEIMA_RULES_131_3)
    seventeen = world.citizen(code=_old_code(_years_ago(today, 17) - timedelta(days=40)))
    answer = world.post(ctx, adults, world.signed(adults, seventeen), "17, Art. 22")
    world.expect_refused(ctx, answer, "UNDERAGE", "17-year-old for an Art. 22 initiative")
    answer = world.post(ctx, youth, world.signed(youth, seventeen), "17, 16+ regime")
    if world.expect_accepted(ctx, answer, "the same 17-year-old for a 16+ regime"):
        ctx.expect(
            answer.json.get("eligibility") == "age_checked",
            f"eligibility {answer.json.get('eligibility')} (age_checked)",
        )
    birthday = world.citizen(code=_old_code(_years_ago(today, 18)))
    answer = world.post(ctx, adults, world.signed(adults, birthday), "18 today")
    world.expect_accepted(ctx, answer, "18th birthday today, Art. 22")
    eve = world.citizen(code=_old_code(_years_ago(today, 18) + timedelta(days=1)))
    answer = world.post(ctx, adults, world.signed(adults, eve), "18 tomorrow")
    world.expect_refused(ctx, answer, "UNDERAGE", "18th birthday tomorrow, Art. 22")
    new = world.citizen(new_format=True)
    answer = world.post(ctx, adults, world.signed(adults, new), "new-format code")
    if world.expect_accepted(ctx, answer, "new-format code, Art. 22"):
        ctx.expect(
            answer.json.get("eligibility") == "for_cvk",
            f"marked for CVK to verify: eligibility {answer.json.get('eligibility')}",
        )


def c28(ctx: Context, world: World) -> None:
    initiative = world.initiative(ctx)
    before = time.time()
    reply = world.target.http.get(
        world.target.base + "/healthz", timeout=10, verify=world.target.verify
    )
    after = time.time()
    from email.utils import parsedate_to_datetime

    server = parsedate_to_datetime(reply.headers["Date"]).timestamp()
    skew = server - (before + after) / 2
    ctx.expect(abs(skew) < 5, f"server clock vs runner (UTC, HTTP Date): {skew:+.1f} s")
    # The service flags its own skew (against the Date of the OCSP/CRL/TSA answers it fetches):
    # /readyz carries the measurement and the tolerance, and is 503 beyond it.
    ready = world.target.http.get(
        world.target.base + "/readyz", timeout=10, verify=world.target.verify
    )
    is_json = ready.headers.get("Content-Type", "").startswith("application/json")
    body = ready.json() if is_json else {}
    if ready.status_code != 200:  # flagged: the reason names the clock and the tolerance
        message = str(body.get("error", {}).get("message", ""))
        ctx.expect("server clock" not in message, f"/readyz flags the server clock: {message}")
    else:
        found = body.get("clock")
        clock: dict[str, Any] = found if isinstance(found, dict) else {}
        flag = "tolerance_seconds" in clock
        if ctx.expect(flag, "/readyz reports the server's measured clock skew and tolerance"):
            measured = clock.get("skew_seconds")
            ctx.note(
                f"service-measured skew {measured} s against {clock.get('source', '-')}, "
                f"tolerance {clock['tolerance_seconds']} s"
            )
            if measured is not None:
                ok = abs(measured) <= clock["tolerance_seconds"]
                ctx.expect(ok, f"service clock within its tolerance ({measured:+.1f} s)")
    instant = world.default_instant() - timedelta(minutes=5)
    stamped = instant + timedelta(minutes=3)
    who = world.citizen()
    day = stamped.astimezone(RIGA).date()
    form = world.form(initiative, who, day)
    answer = world.post(
        ctx,
        initiative,
        world.sign(
            form, who, at=instant, timestamp_at=stamped, ocsp_at=stamped + timedelta(seconds=5)
        ),
        "SigningTime 3 min before the time stamp",
    )
    if world.expect_accepted(ctx, answer, "signature with SigningTime 3 min before its time stamp"):
        doc = world.target.request(
            "GET", f"/v1/signatures/{answer.json['id']}", token=initiative.platform_key
        ).json
        recorded = doc.get("signing_time", "")
        ctx.expect(recorded.endswith("Z"), f"recorded time in UTC: {recorded}")
        want = stamped.strftime("%Y-%m-%dT%H:%M:%S")
        ctx.expect(
            recorded.startswith(want),
            f"recorded time is the time stamp's ({want}Z), not SigningTime: {recorded}",
        )
    # claimed SigningTime inside the window, time stamp after it: the time stamp decides
    today = world.today()
    closed = world.initiative(
        ctx, starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=2)
    )
    late = world.citizen()
    inside = _riga(today - timedelta(days=3), 12, 0, 0)
    stamp = world.default_instant()
    form = world.form(closed, late, stamp.astimezone(RIGA).date())
    answer = world.post(
        ctx,
        closed,
        world.sign(form, late, at=inside, timestamp_at=stamp, ocsp_at=stamp + timedelta(seconds=5)),
        "SigningTime in the window, time stamp after it",
    )
    world.expect_refused(
        ctx,
        answer,
        ("OUTSIDE_PERIOD", "DOCUMENT_MISMATCH"),
        "claimed SigningTime inside, time stamp outside the window",
    )
    size_ok = world.target.request("GET", "/v1/log/checkpoint")
    ctx.note(f"checkpoint: {size_ok.body.decode(errors='replace').splitlines()[:2]}")


CHECKS = [
    CheckSpec(
        "C1",
        "old-format personal code",
        "valid accepted; each other case refused with a distinct message",
        "DDMMYY-CNNNQ codes: valid; bad check digit; impossible date; "
        "wrong length or letters; hyphen missing",
        "L",
        "Law Art. 22(1) (personal code on "
        "each signature); code format: Natural Persons Register (inferred)",
        c1,
    ),
    CheckSpec(
        "C2",
        "new-format personal code",
        "3[2-9] accepted whatever the check digit; 30/31 refused; no birth date derived",
        "32…–39… codes (no birth date), 30…/31…",
        "L",
        "new codes since 2017-07-01 (inferred); Law Art. 22(1)",
        c2,
    ),
    CheckSpec(
        "C3",
        "qualified signature only",
        "(a) accepted; (b), (c) refused (untrusted / not qualified)",
        "(a) QES from a granted CA/QC; (b) CA not on the list; (c) no QC statements",
        "L",
        "MK 471 pt 22, 26; eIDAS Art. 3(12), 25(2), 32; Electronic Documents Law Art. 3",
        c3,
    ),
    CheckSpec(
        "C4",
        "signing, not authentication, certificate",
        "refused",
        "certificate without nonRepudiation",
        "A, P",
        "ETSI EN 319 412-2 §4.3.2; eIDAS Annex I",
        c4,
    ),
    CheckSpec(
        "C5",
        "certificate status at signing time",
        "refused; an outage is 'retry later', never an accept",
        "revoked before signing; expired; not yet valid; OCSP responder unreachable",
        "A, P",
        "eIDAS Art. 32(1); ETSI EN 319 102-1",
        c5,
    ),
    CheckSpec(
        "C6",
        "qualified time stamp",
        "only the last accepted",
        "no time stamp (XAdES-B); TSA not granted as QTST; granted QTST",
        "L",
        "MK 471 pt 22¹, 26 (XAdES-T with a qualified time stamp); eIDAS Art. 41–42",
        c6,
    ),
    CheckSpec(
        "C7",
        "content binding",
        "refused, document mismatch",
        "the signed form names X but is posted for Y; other registration number or title",
        "L",
        "MK 471 pt 22 (the signed unit is the form of that initiative); Law Art. 22(1)",
        c7,
    ),
    CheckSpec(
        "C8",
        "identity",
        "refused, identity mismatch",
        "form's name or personal code differs from the certificate's",
        "L*",
        "Law Art. 22(1) (name, surname, personal code of the signer); MK 471 pt 22",
        c8,
    ),
    CheckSpec(
        "C9",
        "encoding",
        "only the exact form v1 bytes accepted; rule documented",
        "Windows-1257; invalid UTF-8; BOM; NFD letters; CRLF",
        "L",
        "MK 471 pt 22 (UTF-8 text file)",
        c9,
    ),
    CheckSpec(
        "C10",
        "collection window",
        "outside refused, boundary accepted",
        "signed before registration; after 12 months; on the boundary days",
        "L",
        "Law Art. 22(1) (12 months from registration)",
        c10,
    ),
    CheckSpec(
        "C13",
        "eligibility pre-check",
        "refused / accepted / marked 'for CVK to verify'",
        "17-year-old (old-format code) for an Art. 22 initiative; same for a 16+ regime; "
        "new-format code",
        "L",
        "Satversme Art. 8, Law Art. 22 (Saeima voters, 18+); Saeima Rules Art. 131³ (16+)",
        c13,
    ),
    CheckSpec(
        "C28",
        "trusted time",
        "UTC everywhere; the time stamp is authoritative; skew beyond tolerance flagged",
        "signing time vs the qualified time stamp; server clock",
        "P",
        "eIDAS Art. 41(2) (qualified time stamp presumption); MK 471 pt 26",
        c28,
    ),
]
