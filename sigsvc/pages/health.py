"""The console's health page: figures, and findings that say plainly what is wrong and what to
do. `findings()` is pure (figures in, findings out, time passed in); `gather()` reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sigsvc import services
from sigsvc.db.models.batches import Batch, BatchStatus
from sigsvc.db.models.intake import Rejection
from sigsvc.pages import counters, readmodel

Level = Literal["error", "warning"]
HOUR = timedelta(hours=1)
TL_WARN_BEFORE = timedelta(days=2)  # next update this close: refresh soon
CHECKPOINT_LATE_FACTOR = 10  # uncovered entries older than 10 intervals: cutting is stuck
BATCH_WAITING = timedelta(days=1)
# Rejections that point at our side, not at the signer: each hints at one fix.
OUTAGE_REASONS = ("REVOCATION_UNAVAILABLE",)


@dataclass(frozen=True, slots=True)
class TrustedList:
    territory: str
    sequence: int | None
    next_update: datetime | None
    stale: bool


@dataclass(frozen=True, slots=True)
class Figures:
    now: datetime
    verification_time: datetime  # trust is judged at this time (a TEST clock if configured)
    intake_error: str | None
    test_anchors: bool
    test_clock: bool
    trusted_lists: tuple[TrustedList, ...]
    log_size: int
    checkpoint_size: int | None
    checkpoint_cut_at: datetime | None
    checkpoint_interval: float
    rejections_last_hour: dict[str, int]
    batches_waiting: int  # created, not handed over for a day
    batches_unacknowledged: int  # handed over, no acknowledgement for a day
    batches_due_for_purge: int
    batch_seal_configured: bool
    handover_configured: bool
    # From the Prometheus metrics, since they started; None where the deployment has none.
    rate_limit_denials: int | None = None
    fetch_errors: dict[str, int] = field(default_factory=dict)
    intake_requests: int = 0
    intake_p50_seconds: float | None = None
    intake_p95_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    what: tuple[str, str]  # (lv, en)
    todo: tuple[str, str]


def _fmt(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def findings(f: Figures) -> list[Finding]:
    out: list[Finding] = []
    if f.intake_error:
        out.append(
            Finding(
                "error",
                (
                    f"Parakstu pieņemšana izslēgta: {f.intake_error}",
                    f"Signature intake is off: {f.intake_error}",
                ),
                (
                    "Iestatiet minēto mainīgo (README, Configuration) un pārstartējiet servisu.",
                    "Set the variable it names (README, Configuration) and restart the service.",
                ),
            )
        )
    if f.test_anchors or f.test_clock:
        out.append(
            Finding(
                "warning",
                (
                    "Lieto TESTA uzticamību vai testa pulksteni.",
                    "TEST trust anchors or a test clock are in use.",
                ),
                (
                    "Ražošanā noņemiet SIGSVC_ANCHORS un SIGSVC_TEST_CLOCK.",
                    "In production, remove SIGSVC_ANCHORS and SIGSVC_TEST_CLOCK.",
                ),
            )
        )
    for tl in f.trusted_lists:
        name = tl.territory or "?"
        if tl.stale or (tl.next_update is not None and tl.next_update <= f.verification_time):
            out.append(
                Finding(
                    "error",
                    (
                        f"Uzticamo sarakstu {name} (nr. {tl.sequence}) vajadzēja atjaunot līdz "
                        f"{_fmt(tl.next_update)}.",
                        f"Trusted list {name} (no. {tl.sequence}) was due for renewal by "
                        f"{_fmt(tl.next_update)}.",
                    ),
                    (
                        "Lejupielādējiet jaunāko sarakstu, pārbaudiet tā parakstu un "
                        "pārstartējiet; līdz tam jauni sertifikāti var tikt noraidīti.",
                        "Fetch the current list, check its signature and restart; until then new "
                        "certificates may be refused.",
                    ),
                )
            )
        elif tl.next_update is not None and tl.next_update - f.verification_time < TL_WARN_BEFORE:
            out.append(
                Finding(
                    "warning",
                    (
                        f"Uzticamo sarakstu {name} jāatjauno līdz {_fmt(tl.next_update)}.",
                        f"Trusted list {name} must be renewed by {_fmt(tl.next_update)}.",
                    ),
                    ("Sagatavojiet atjaunošanu.", "Plan the refresh now."),
                )
            )
    uncovered = f.log_size - (f.checkpoint_size or 0)
    if uncovered > 0 and f.checkpoint_cut_at is not None:
        late = f.now - f.checkpoint_cut_at
        if late.total_seconds() > CHECKPOINT_LATE_FACTOR * max(f.checkpoint_interval, 1):
            out.append(
                Finding(
                    "error",
                    (
                        f"{uncovered} žurnāla ieraksti nav parakstīti kontrolpunktā jau "
                        f"{int(late.total_seconds())} s.",
                        f"{uncovered} log entries have not been covered by a checkpoint for "
                        f"{int(late.total_seconds())} s.",
                    ),
                    (
                        "Pārbaudiet žurnāla atslēgu (SIGSVC_LOG_KEY_FILE) un datubāzes "
                        "slēdzenes; GET /v1/log/checkpoint mēģina to parakstīt.",
                        "Check the log key (SIGSVC_LOG_KEY_FILE) and database locks; GET "
                        "/v1/log/checkpoint tries to cut one.",
                    ),
                )
            )
    outages = sum(f.rejections_last_hour.get(r, 0) for r in OUTAGE_REASONS)
    if outages:
        out.append(
            Finding(
                "error",
                (
                    f"{outages} paraksti pēdējā stundā atteikti, jo nebija pieejams OCSP/CRL.",
                    f"{outages} signatures in the last hour were turned away because OCSP/CRL was "
                    "unreachable.",
                ),
                (
                    "Pārbaudiet izejošo savienojumu uz sertifikātu izdevēja OCSP; platformas var "
                    "mēģināt vēlreiz.",
                    "Check outbound access to the issuers' OCSP responders; platforms may retry.",
                ),
            )
        )
    if f.batches_waiting:
        out.append(
            Finding(
                "warning",
                (
                    f"{f.batches_waiting} partijas izveidotas, bet nav nodotas CVK ilgāk par "
                    "dienu.",
                    f"{f.batches_waiting} batches were created but not handed to CVK for over a "
                    "day.",
                ),
                ("Nosūtiet tās (Partijas → Nosūtīt CVK).", "Push them (Batches → Push to CVK)."),
            )
        )
    if f.batches_unacknowledged:
        out.append(
            Finding(
                "warning",
                (
                    f"{f.batches_unacknowledged} nodotām partijām nav CVK apliecinājuma ilgāk par "
                    "dienu.",
                    f"{f.batches_unacknowledged} handed-over batches have no acknowledgement from "
                    "CVK for over a day.",
                ),
                (
                    "Sazinieties ar CVK un reģistrējiet apliecinājumu.",
                    "Contact CVK and record their acknowledgement.",
                ),
            )
        )
    if f.batches_due_for_purge:
        out.append(
            Finding(
                "warning",
                (
                    f"{f.batches_due_for_purge} partiju personas dati jādzēš (glabāšanas termiņš "
                    "beidzies).",
                    f"{f.batches_due_for_purge} batches hold personal data past the retention "
                    "period.",
                ),
                (
                    "Glabāšana → Dzēst tagad (vai `sigsvc retention purge` cron).",
                    "Retention → Purge now (or `sigsvc retention purge` from cron).",
                ),
            )
        )
    if not f.batch_seal_configured:
        out.append(
            Finding(
                "warning",
                (
                    "Partiju zīmogs nav konfigurēts: partijas nevar izveidot.",
                    "No batch seal is configured: batches cannot be created.",
                ),
                (
                    "Iestatiet SIGSVC_BATCH_SEAL_KEY un SIGSVC_BATCH_SEAL_CERT.",
                    "Set SIGSVC_BATCH_SEAL_KEY and SIGSVC_BATCH_SEAL_CERT.",
                ),
            )
        )
    if not f.handover_configured:
        out.append(
            Finding(
                "warning",
                (
                    "CVK adrese vai atslēga nav konfigurēta: partijas nevar nosūtīt.",
                    "CVK's address or key is not configured: batches cannot be pushed.",
                ),
                (
                    "Iestatiet SIGSVC_HANDOVER_URL un SIGSVC_RECEIVER_KEY.",
                    "Set SIGSVC_HANDOVER_URL and SIGSVC_RECEIVER_KEY.",
                ),
            )
        )
    return out


def gather(app: Flask, session: Session, now: datetime) -> Figures:
    intake_error: str | None = None
    trusted: tuple[TrustedList, ...] = ()
    test_anchors = test_clock = False
    interval = float(app.config.get("CHECKPOINT_INTERVAL") or 2)
    verification_time = now
    try:
        intake = services.get(app)
    except services.IntakeConfigError as exc:
        intake_error = str(exc)
    else:
        test_anchors, test_clock = intake.test_anchors, intake.test_clock
        interval = intake.log.interval
        verification_time = intake.verification_time()
        trusted = tuple(
            TrustedList(i.territory or "?", i.sequence, i.next_update, i.stale)
            for i in intake.trust.lists
        )
    log = readmodel.log_view(session, history=1)
    since = now - HOUR
    rejections = {
        str(reason): int(n)
        for reason, n in session.execute(
            sa.select(Rejection.reason, sa.func.count())
            .where(Rejection.created_at >= since)
            .group_by(Rejection.reason)
            .order_by(Rejection.reason)
        ).all()
    }
    day_ago = now - BATCH_WAITING
    retention_days = int(app.config.get("RETENTION_DAYS") or 90)

    def count(*conditions: sa.ColumnElement[bool]) -> int:
        return int(
            session.scalar(sa.select(sa.func.count()).select_from(Batch).where(*conditions)) or 0
        )

    seal = app.config.get("BATCH_SEAL") or {}
    events = counters.read()
    return Figures(
        now=now,
        verification_time=verification_time,
        intake_error=intake_error,
        test_anchors=test_anchors,
        test_clock=test_clock,
        trusted_lists=trusted,
        log_size=log.size,
        checkpoint_size=log.latest.size if log.latest else None,
        checkpoint_cut_at=log.latest.cut_at if log.latest else None,
        checkpoint_interval=interval,
        rejections_last_hour=rejections,
        batches_waiting=count(Batch.status == BatchStatus.CREATED, Batch.created_at <= day_ago),
        batches_unacknowledged=count(
            Batch.status == BatchStatus.HANDED_OVER, Batch.handed_over_at <= day_ago
        ),
        batches_due_for_purge=count(
            Batch.status == BatchStatus.ACKNOWLEDGED,
            Batch.acknowledged_at <= now - timedelta(days=retention_days),
        ),
        batch_seal_configured=bool(
            seal.get("SIGSVC_BATCH_SEAL_KEY") and seal.get("SIGSVC_BATCH_SEAL_CERT")
        ),
        handover_configured=bool(app.config.get("HANDOVER_URL") and app.config.get("RECEIVER_KEY")),
        rate_limit_denials=events.rate_limit_denials if events else None,
        fetch_errors=dict(events.fetch_errors) if events else {},
        intake_requests=events.intake_requests if events else 0,
        intake_p50_seconds=events.intake_p50_seconds if events else None,
        intake_p95_seconds=events.intake_p95_seconds if events else None,
    )


def worst(items: Sequence[Finding]) -> Level | Literal["ok"]:
    if any(i.level == "error" for i in items):
        return "error"
    return "warning" if items else "ok"
