"""Dates, instants and ages as the pages print them (Riga time, day.month.year)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sigsvc.pages.i18n import translate

RIGA = ZoneInfo("Europe/Riga")


def day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y.") if value is not None else "—"


def moment(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(RIGA).strftime("%d.%m.%Y. %H:%M:%S %Z")


def age_text(age: timedelta | None) -> str:
    if age is None:
        return translate("age.unknown")
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 120:
        return translate("age.seconds", n=seconds)
    if seconds < 2 * 3600:
        return translate("age.minutes", n=seconds // 60)
    if seconds < 2 * 86400:
        return translate("age.hours", n=seconds // 3600)
    return translate("age.days", n=seconds // 86400)
