"""Operator actions on initiatives, shared by the admin API, the CLI and the console
(platforms and admin tokens: sigsvc.credentials).

Functions take a session and plain values, raise Refusal with a stable code, and never commit:
the caller owns the transaction, so a rejected request stores nothing.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy.orm import Session

from audit import events
from crypto.form import FormFieldError, InitiativeFields, Regime, SignerFields, render_form
from crypto.personal_code import contains_code_shape
from sigsvc.db.models import Initiative, InitiativeStatus
from sigsvc.db.models.intake import Rejection, Signature, SignatureStatus
from sigsvc.db.ttlcache import app_cache
from sigsvc.log.service import LogService, log_safe_uuid
from sigsvc.refusal import Refusal


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_allowed_day(starts_on: date, months: int) -> date:
    """Last collection day of a period of `months` months starting on `starts_on` (inclusive).

    Art. 22(1): signatures are collected within 12 months. A period starting 2026-03-01 ends
    2027-02-28 inclusive; we read "within 12 months" strictly, ending the day before the
    anniversary, so no signature is ever taken on a day the law might not allow.
    """
    return add_months(starts_on, months) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class NewInitiative:
    regime: Regime
    registration_number: str
    title: str
    full_text: str
    starts_on: date
    ends_on: date


def _form_line(value: str, name: str) -> str:
    value = unicodedata.normalize("NFC", value)
    try:  # the value must fit on one line of the form, exactly as the form renders it
        render_form(
            InitiativeFields(Regime.ART22_BILL, value, value, "0" * 64),
            SignerFields("A", "B", "010101-10000", date(2000, 1, 1)),
        )
    except FormFieldError as exc:
        raise Refusal(
            "INVALID_FIELD",
            f"/{name}: empty, padded with whitespace, or contains a line break or control char",
        ) from exc
    return value


def register_initiative(session: Session, log: LogService, new: NewInitiative) -> Initiative:
    registration_number = _form_line(new.registration_number, "registration_number")
    title = _form_line(new.title, "title")
    if new.ends_on < new.starts_on:
        raise Refusal("PERIOD_END_BEFORE_START", "ends_on is before starts_on")
    max_months = new.regime.max_period_months
    if max_months is not None and new.ends_on > last_allowed_day(new.starts_on, max_months):
        raise Refusal(
            "PERIOD_TOO_LONG",
            f"{new.regime.value} allows at most {max_months} months: the last day for this "
            f"start is {last_allowed_day(new.starts_on, max_months).isoformat()}",
        )
    exists = session.scalar(
        sa.select(Initiative.id).where(Initiative.registration_number == registration_number)
    )
    if exists is not None:
        raise Refusal("DUPLICATE_REGISTRATION_NUMBER", "this CVK number is already registered")
    initiative = Initiative(
        id=log_safe_uuid(),
        regime=new.regime,
        registration_number=registration_number,
        title=title,
        full_text=new.full_text,
        text_sha256=hashlib.sha256(new.full_text.encode("utf-8")).hexdigest(),
        starts_on=new.starts_on,
        ends_on=new.ends_on,
        minimum_age=new.regime.minimum_age,
        status=InitiativeStatus.OPEN,
    )
    session.add(initiative)
    try:
        session.flush()  # a racing duplicate fails here, on the unique constraint
    except sa.exc.IntegrityError as exc:
        raise Refusal("DUPLICATE_REGISTRATION_NUMBER", "this CVK number is registered") from exc
    log.append(
        session,
        [
            events.initiative_registered(
                at=log.now(session),
                initiative=str(initiative.id),
                regime=initiative.regime.value,
                registration=_registration_id(initiative.registration_number),
                text_sha256=initiative.text_sha256,
                opens=initiative.starts_on,
                closes=initiative.ends_on,
            )
        ],
    )
    return initiative


def _registration_id(number: str) -> str:
    """The CVK number as a log id ([A-Za-z0-9._:-], no 11-digit run that could be read as a
    personal code); otherwise a readable prefix plus a base32 digest keeps numbers distinct."""
    safe = re.sub(r"[^A-Za-z0-9._:-]", "_", number)
    digit_run = contains_code_shape(safe)
    if safe == number and safe[:1].isalnum() and len(safe) <= 64 and not digit_run:
        return safe
    digest = base64.b32encode(hashlib.sha256(number.encode()).digest()).decode().lower()[:16]
    prefix = "" if digit_run else re.sub(r"^[^A-Za-z0-9]+", "", safe)[:40]
    return f"{prefix}:{digest}" if prefix else f"cvk:{digest}"


def get_initiative(session: Session, initiative_id: uuid.UUID) -> Initiative:
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise Refusal("NOT_FOUND", "no such initiative")
    return initiative


def cached_initiative(session: Session, initiative_id: uuid.UUID) -> Initiative:
    """`get_initiative` through a per-process cache (sigsvc.db.ttlcache: a closure in another
    process reaches this one within the TTL). The object is detached and shared between
    threads: read only."""
    cache = app_cache("initiatives")
    found: Initiative | None = cache.get(initiative_id)
    if found is None:
        found = get_initiative(session, initiative_id)
        session.expunge(found)
        cache.put(initiative_id, found)
    return found


def list_initiatives(session: Session) -> list[Initiative]:
    return list(session.scalars(sa.select(Initiative).order_by(Initiative.created_at)))


def close_initiative(session: Session, log: LogService, initiative_id: uuid.UUID) -> Initiative:
    initiative = get_initiative(session, initiative_id)
    if initiative.status is InitiativeStatus.CLOSED:
        raise Refusal("INITIATIVE_CLOSED", "the initiative is already closed")
    initiative.status = InitiativeStatus.CLOSED
    initiative.closed_at = log.now(session)  # under the log lock: events stay in time order
    session.flush()
    if has_app_context():
        app_cache("initiatives").pop(initiative_id)  # this process at once, others within TTL
    accepted = signature_counts(session, initiative.id)["accepted"]
    log.append(
        session,
        [
            events.initiative_closed(
                at=initiative.closed_at,
                initiative=str(initiative.id),
                reason="CLOSED",
                accepted=accepted,
            )
        ],
    )
    return initiative


def signature_counts(session: Session, initiative_id: uuid.UUID) -> dict[str, Any]:
    """Counts shown publicly: accepted (not withdrawn), withdrawn, rejected (by reason)."""
    by_status = dict(
        session.execute(
            sa.select(Signature.status, sa.func.count())
            .where(Signature.initiative_id == initiative_id)
            .group_by(Signature.status)
        ).all()
    )
    by_reason = {
        str(reason): int(n)
        for reason, n in session.execute(
            sa.select(Rejection.reason, sa.func.count())
            .where(Rejection.initiative_id == initiative_id)
            .group_by(Rejection.reason)
            .order_by(Rejection.reason)
        ).all()
    }
    return {
        "accepted": int(by_status.get(SignatureStatus.ACCEPTED, 0)),
        "withdrawn": int(by_status.get(SignatureStatus.WITHDRAWN, 0)),
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": by_reason,
    }


def initiative_fields(initiative: Initiative) -> InitiativeFields:
    return InitiativeFields(
        initiative.regime,
        initiative.registration_number,
        initiative.title,
        initiative.text_sha256,
    )
