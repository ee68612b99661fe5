"""The public numbers in machine-readable form: JSON and CSV (CORS open, cached briefly) and an
Atom feed of initiatives. Same source as the pages (readmodel), so the two never disagree."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from flask import Response, abort, request, url_for

from sigsvc import db
from sigsvc.db.models import Initiative
from sigsvc.pages import cache, readmodel
from sigsvc.pages.public import bp

MAX_AGE_SECONDS = 60  # counts move; a minute of staleness is fine for a public dashboard


def _open(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    return response


def _json(value: object) -> Response:
    body = json.dumps(value, ensure_ascii=False, indent=1) + "\n"
    return _open(Response(body, content_type="application/json; charset=utf-8"))


def _csv(rows: list[list[object]], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return _open(response)


@bp.get("/data/initiatives.json")
def data_initiatives_json() -> Response:
    views = _initiatives()
    return _json({"initiatives": [v.as_json() for v in views]})


@bp.get("/data/initiatives.csv")
def data_initiatives_csv() -> Response:
    views = _initiatives()
    rows: list[list[object]] = [
        [
            "id",
            "registration_number",
            "title",
            "regime",
            "starts_on",
            "ends_on",
            "status",
            "accepted",
            "withdrawn",
            "rejected",
        ]
    ]
    rows += [
        [
            v.id,
            v.registration_number,
            v.title,
            v.regime,
            v.starts_on.isoformat(),
            v.ends_on.isoformat(),
            v.status,
            v.accepted,
            v.withdrawn,
            v.rejected,
        ]
        for v in views
    ]
    return _csv(rows, "initiatives.csv")


def _initiatives() -> list[readmodel.InitiativeView]:
    return cache.cached("initiatives", lambda: readmodel.initiatives(db.session()))


def _per_day(initiative_id: uuid.UUID) -> dict[date, int]:
    return cache.cached(
        ("per_day", initiative_id),
        lambda: readmodel.signatures_per_day(db.session(), initiative_id),
    )


def _one(initiative_id: uuid.UUID) -> readmodel.InitiativeView:
    view = cache.cached(
        ("initiative", initiative_id), lambda: readmodel.initiative(db.session(), initiative_id)
    )
    if view is None:
        abort(404)
    return view


@bp.get("/data/initiatives/<uuid:initiative_id>.json")
def data_initiative_json(initiative_id: uuid.UUID) -> Response:
    view = _one(initiative_id)
    per_day = _per_day(initiative_id)
    return _json(
        {
            **view.as_json(),
            "per_day": [{"day": d.isoformat(), "accepted": n} for d, n in per_day.items()],
        }
    )


@bp.get("/data/initiatives/<uuid:initiative_id>/daily.csv")
def data_daily_csv(initiative_id: uuid.UUID) -> Response:
    _one(initiative_id)
    per_day = _per_day(initiative_id)
    rows: list[list[object]] = [["day", "accepted"]]
    rows += [[d.isoformat(), n] for d, n in per_day.items()]
    return _csv(rows, f"{initiative_id}-daily.csv")


def _rfc3339(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.get("/feed.atom")
def feed() -> Response:
    """Atom (RFC 4287): one entry per initiative, updated when it is registered or closed."""
    session = db.session()
    views = {v.id: v for v in _initiatives()}
    rows = list(session.query(Initiative).order_by(Initiative.created_at.desc()))
    base = request.host_url.rstrip("/")
    updated = max((r.closed_at or r.created_at for r in rows), default=None)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "<title>sigsvc — iniciatīvas / initiatives</title>",
        f"<id>{escape(base)}/feed.atom</id>",
        f'<link rel="self" href="{escape(base)}/feed.atom"/>',
        f"<updated>{_rfc3339(updated)}</updated>",
        "<author><name>sigsvc</name></author>",
    ]
    for row in rows:
        view = views.get(str(row.id)) or readmodel.initiative(session, row.id)
        if view is None:
            continue
        link = base + url_for("pages_public.initiative", initiative_id=row.id)
        summary = (
            f"{view.registration_number}: {view.status}, {view.starts_on.isoformat()} – "
            f"{view.ends_on.isoformat()}; accepted {view.accepted}, withdrawn {view.withdrawn}, "
            f"rejected {view.rejected}"
        )
        parts += [
            "<entry>",
            f"<title>{escape(view.title)}</title>",
            f"<id>urn:uuid:{row.id}</id>",
            f'<link href="{escape(link)}"/>',
            f"<updated>{_rfc3339(row.closed_at or row.created_at)}</updated>",
            f"<summary>{escape(summary)}</summary>",
            "</entry>",
        ]
    parts.append("</feed>\n")
    return _open(Response("\n".join(parts), content_type="application/atom+xml; charset=utf-8"))
