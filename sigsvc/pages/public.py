"""Public pages (no login, no personal data): initiatives with counts, one initiative with its
signatures per day, the log, and the receipt check (which runs in the browser)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask import Blueprint, abort, render_template, request

from sigsvc import db
from sigsvc.db.models import Initiative
from sigsvc.pages import cache, chart, i18n, readmodel, status
from sigsvc.pages.formatting import age_text

bp = Blueprint(
    "pages_public",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.after_request(i18n.remember)


@bp.errorhandler(404)
def _not_found(_error: Exception) -> tuple[str, int]:
    return render_template("error.html", section=None), 404


@bp.get("/")
def index() -> str:
    views = cache.cached("initiatives", lambda: readmodel.initiatives(db.session()))
    return render_template("index.html", initiatives=views, section="initiatives")


@bp.get("/initiatives/<uuid:initiative_id>")
def initiative(initiative_id: uuid.UUID) -> str:
    session = db.session()
    view = cache.cached(
        ("initiative", initiative_id), lambda: readmodel.initiative(session, initiative_id)
    )
    if view is None:
        abort(404)
    row = session.get(Initiative, initiative_id)
    assert row is not None
    per_day = cache.cached(
        ("per_day", initiative_id), lambda: readmodel.signatures_per_day(session, initiative_id)
    )
    today = datetime.now(readmodel.RIGA).date()
    days: list[date] = []
    if per_day or today >= view.starts_on:  # from the first day to today (or the last day)
        first = min([view.starts_on, *per_day])
        last = max([min(view.ends_on, today), *per_day])
        days = chart.days_between(first, last)
    return render_template(
        "initiative.html",
        i=view,
        text_sha256=row.text_sha256,
        chart=chart.per_day_chart(per_day, days),
        section="initiatives",
    )


@bp.get("/log")
def log() -> str:
    view = readmodel.log_view(db.session())
    now = status.now()
    age = view.age(now)
    key = status.log_key()
    return render_template(
        "log.html",
        log=view,
        age=age_text(age),
        log_key=key.vkey if key else None,
        origin=key.origin if key else None,
        base=request.host_url.rstrip("/"),
        section="log",
    )


@bp.get("/receipt")
def receipt() -> str:
    key = status.log_key()
    return render_template(
        "receipt.html",
        log_key=key.vkey if key else None,
        origin=key.origin if key else None,
        section="receipt",
    )
