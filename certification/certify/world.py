"""Everything a check uses: the target, fresh initiatives and platforms, fresh citizens, and
containers signed with the test PKI at chosen instants.

Each check makes its own initiatives (registration numbers `CERT-<run>-<check>-<n>`) and its
own citizens, so no check's state (one signature per person, rate limits, batches) touches
another's, and a run can be repeated against the same deployment.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from certification.certify.citizens import (
    Citizen,
    CitizenOcsp,
    Mint,
    new_format_code,
    old_format_code,
)
from certification.certify.kit import Kit
from certification.certify.model import Context
from certification.certify.options import Options
from certification.certify.target import Answer, Target
from certification.testpki.sign import FORM_FILENAME, make_edoc
from crypto.form import (
    FormFieldError,
    FormKind,
    InitiativeFields,
    Regime,
    SignerFields,
    render_form,
)

RIGA = ZoneInfo("Europe/Riga")
GIVEN = ("JĀNIS", "LĪGA", "ĒRIKS", "ANNA", "KĀRLIS", "ZANE", "MĀRIS", "ILZE", "ROBERTS", "DACE")
SURNAMES = ("BĒRZIŅŠ", "OZOLIŅA", "KĻAVIŅŠ", "LIEPA", "KALNIŅŠ", "EGLE", "VĪTOLS", "SKUJA")


@dataclass(frozen=True)
class Initiative:
    id: str
    regime: Regime
    fields: InitiativeFields
    full_text: str
    starts_on: date
    ends_on: date
    platform_id: str
    platform_key: str


@dataclass
class World:
    target: Target
    kit: Kit
    mint: Mint
    ocsp: CitizenOcsp
    run_id: str
    workdir: Path
    readyz: dict[str, Any]
    options: Options
    receiver_url: str
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _serial: int = 0

    @property
    def log_key(self) -> str:
        return str(self.readyz["intake"]["log_key"])

    @property
    def log_origin(self) -> str:
        return str(self.readyz["intake"]["log_origin"])

    def sigaudit(self, *args: str) -> tuple[int, Any, str]:
        """Run the offline auditor tool (``sigaudit ... --json``): (exit code, JSON, text)."""
        exe = shutil.which("sigaudit") or str(Path(sys.executable).parent / "sigaudit")
        done = subprocess.run(
            [exe, *args, "--json"], capture_output=True, text=True, check=False, timeout=300
        )
        try:
            doc = json.loads(done.stdout)
        except ValueError:
            doc = None
        return done.returncode, doc, (done.stdout + done.stderr).strip()

    def save(self, name: str, data: bytes) -> Path:
        path = self.workdir / name
        path.write_bytes(data)
        return path

    def today(self) -> date:
        return self.now().astimezone(RIGA).date()

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    # --- initiatives and platforms (admin API) ---

    def initiative(
        self,
        ctx: Context,
        *,
        regime: Regime = Regime.ART22_BILL,
        starts_on: date | None = None,
        ends_on: date | None = None,
        title: str | None = None,
        platform: bool = True,
    ) -> Initiative:
        n = self._next()
        starts = starts_on or self.today() - timedelta(days=30)
        ends = ends_on or starts + timedelta(days=300)
        number = f"CERT-{self.run_id}-{ctx.spec.id}-{n}"
        title = title or f"Sertifikācijas pārbaude {ctx.spec.id} nr. {n}"
        text = f"TEST ONLY. Likumprojekts “{title}”.\n1. pants. Pārbaudes teksts {number}.\n"
        doc = self.target.admin_ok(
            "POST",
            "/v1/initiatives",
            json={
                "regime": regime.value,
                "registration_number": number,
                "title": title,
                "full_text": text,
                "starts_on": starts.isoformat(),
                "ends_on": ends.isoformat(),
            },
        )
        fields = InitiativeFields(regime, number, title, hashlib.sha256(text.encode()).hexdigest())
        pid, key = self.platform(ctx, [doc["id"]]) if platform else ("", "")
        ctx.note(
            f"registered initiative {number} ({regime.value}, {starts}..{ends}) id {doc['id']}"
        )
        return Initiative(doc["id"], regime, fields, text, starts, ends, pid, key)

    def platform(self, ctx: Context, initiative_ids: list[str]) -> tuple[str, str]:
        name = f"certify-{self.run_id}-{ctx.spec.id}-{self._next()}"
        doc = self.target.admin_ok(
            "POST", "/v1/platforms", json={"name": name, "initiative_ids": initiative_ids}
        )
        return str(doc["id"]), str(doc["api_key"])

    # --- citizens ---

    def citizen(
        self,
        *,
        born: date | None = None,
        code: str | None = None,
        new_format: bool = False,
        serial_number: str | None = None,
        **mint_options: Any,
    ) -> Citizen:
        """A fresh person: old-format code (born 1970..1999 unless ``born``), new-format code,
        or exactly ``code`` / ``serial_number``."""
        n = self._next()
        given, surname = GIVEN[n % len(GIVEN)], SURNAMES[(n // len(GIVEN)) % len(SURNAMES)]
        if serial_number is None:
            if code is None:
                if new_format:
                    code = new_format_code(f"3{2 + secrets.randbelow(8)}")
                else:
                    day = born or date(1970 + secrets.randbelow(30), 1, 1) + timedelta(
                        days=secrets.randbelow(365)
                    )
                    code = old_format_code(day, secrets.randbelow(1000))
            serial_number = f"PNOLV-{code}"
        return self.mint.citizen(given, surname, serial_number, **mint_options)

    # --- forms and containers ---

    def default_instant(self) -> datetime:
        """Signing instant a minute ago: the time stamp and OCSP (5 s / 10 s later) are then
        in the deployment's past, whatever its clock's small skew."""
        return self.now().replace(microsecond=0) - timedelta(seconds=60)

    def local_form(
        self,
        initiative: Initiative,
        who: Citizen,
        day: date,
        kind: FormKind = FormKind.SIGNATURE,
    ) -> bytes:
        """Form v1 as docs/design.md specifies it (for inputs the form endpoint would refuse)."""
        fields = SignerFields(who.given_name, who.surname, who.personal_code, day)
        try:
            return render_form(initiative.fields, fields, kind)
        except FormFieldError:  # a code the renderer refuses: the same layout, byte for byte
            shown = replace(fields, personal_code="000000-00000")
            text = render_form(initiative.fields, shown, kind).decode()
            return text.replace("000000-00000", who.personal_code).encode()

    def http_form(self, initiative: Initiative, who: Citizen, day: date) -> Answer:
        return self.target.request(
            "GET",
            f"/v1/initiatives/{initiative.id}/form",
            token=initiative.platform_key,
            params={
                "given_name": who.given_name,
                "surname": who.surname,
                "personal_code": who.personal_code,
                "date": day.isoformat(),
            },
        )

    def form(self, initiative: Initiative, who: Citizen, day: date) -> bytes:
        """The form as the deployment renders it; falls back to docs/design.md's rendering when the
        form endpoint refuses the input (e.g. a personal code it rejects)."""
        answer = self.http_form(initiative, who, day)
        if answer.status == 200:
            return answer.body
        return self.local_form(initiative, who, day)

    def sign(
        self,
        form: bytes,
        who: Citizen | Any,
        *,
        at: datetime | None = None,
        level: str = "LT",
        **options: Any,
    ) -> bytes:
        signer = who.signer if isinstance(who, Citizen) else who
        for name in ("timestamp_at", "ocsp_at"):  # the test PKI's responders want UTC
            if options.get(name) is not None:
                options[name] = options[name].astimezone(UTC)
        return make_edoc(
            form,
            FORM_FILENAME,
            signer,
            level=level,  # type: ignore[arg-type]
            signing_time=(at or self.default_instant()).astimezone(UTC),
            **options,
        )

    def signed(
        self,
        initiative: Initiative,
        who: Citizen,
        *,
        at: datetime | None = None,
        kind: FormKind = FormKind.SIGNATURE,
        **options: Any,
    ) -> bytes:
        """``who`` signs their own form for ``initiative`` at ``at`` (default a minute ago)."""
        instant = at or self.default_instant()
        day = (instant + timedelta(seconds=5)).astimezone(RIGA).date()
        if kind is FormKind.SIGNATURE:
            form = self.form(initiative, who, day)
        else:
            form = self.local_form(initiative, who, day, kind)
        return self.sign(form, who, at=instant, **options)

    def post(
        self,
        ctx: Context,
        initiative: Initiative,
        container: bytes,
        name: str,
        *,
        kind: str = "signatures",
        platform_key: str | None = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        ctx.input(name, container)
        return self.target.post_container(
            initiative.id,
            platform_key or initiative.platform_key,
            container,
            kind=kind,
            idempotency_key=idempotency_key,
        )

    def expect_refused(
        self, ctx: Context, answer: Answer, reason: str | tuple[str, ...], what: str
    ) -> bool:
        wanted = (reason,) if isinstance(reason, str) else reason
        return ctx.expect(
            400 <= answer.status < 500 and answer.code in wanted,
            f"{what}: expected 4xx {' or '.join(wanted)}, got {answer.brief()}",
        )

    def expect_accepted(self, ctx: Context, answer: Answer, what: str) -> bool:
        doc = answer.json if isinstance(answer.json, dict) else {}
        return ctx.expect(
            answer.status == 201 and doc.get("status") == "accepted",
            f"{what}: expected 201 accepted, got {answer.brief()}",
        )
