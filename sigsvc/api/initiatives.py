"""Initiatives: admin registration/list/get/close, public read with counts, the signature form."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, request

from crypto.form import FormFieldError, Regime, SignerFields, render_form
from crypto.personal_code import CANONICAL_PATTERN, is_canonical
from sigsvc import db, registry
from sigsvc.db.models import Initiative, InitiativeStatus
from sigsvc.web.auth import require_platform
from sigsvc.web.context import registry_log
from sigsvc.web.endpoints import endpoint
from sigsvc.web.errors import ApiError

bp = Blueprint("initiatives", __name__)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# ASCII digits only: `\d` would also accept e.g. fullwidth digits.
MAX_NAME_LENGTH = 200


def public_json(initiative: Initiative) -> dict[str, Any]:
    return {
        "id": str(initiative.id),
        "regime": initiative.regime.value,
        "regime_label": initiative.regime.label,
        "registration_number": initiative.registration_number,
        "title": initiative.title,
        "text_sha256": initiative.text_sha256,
        "starts_on": initiative.starts_on.isoformat(),
        "ends_on": initiative.ends_on.isoformat(),
        "minimum_age": initiative.minimum_age,
        "status": initiative.status.value,
    }


def admin_json(initiative: Initiative) -> dict[str, Any]:
    return {
        **public_json(initiative),
        "full_text": initiative.full_text,
        "created_at": initiative.created_at.isoformat(),
        "closed_at": initiative.closed_at.isoformat() if initiative.closed_at else None,
    }


def _date(value: str, name: str) -> date:
    # The schema's pattern already fixed the shape; this rejects 2026-02-30 and the like.
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError("INVALID_FIELD", f"/{name}: not a calendar date") from exc


@endpoint(
    bp,
    "/v1/initiatives",
    methods=["POST"],
    auth="admin",
    request="initiative_create",
    responses={201: "initiative"},
    errors=("PERIOD_END_BEFORE_START", "PERIOD_TOO_LONG", "DUPLICATE_REGISTRATION_NUMBER"),
    summary="Register an initiative (CVK number, regime, text, collection period).",
)
def create_initiative(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    session = db.session()
    initiative = registry.register_initiative(
        session,
        registry_log(),
        registry.NewInitiative(
            regime=Regime(body["regime"]),
            registration_number=body["registration_number"],
            title=body["title"],
            full_text=body["full_text"],
            starts_on=_date(body["starts_on"], "starts_on"),
            ends_on=_date(body["ends_on"], "ends_on"),
        ),
    )
    session.commit()
    return admin_json(initiative), 201


@endpoint(
    bp,
    "/v1/initiatives",
    methods=["GET"],
    auth="admin",
    responses={200: "initiative_list"},
    summary="List all initiatives (admin view).",
)
def list_initiatives() -> dict[str, Any]:
    return {"initiatives": [admin_json(i) for i in registry.list_initiatives(db.session())]}


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>",
    methods=["GET"],
    auth="admin",
    responses={200: "initiative"},
    summary="One initiative with its full text.",
)
def get_initiative(initiative_id: uuid.UUID) -> dict[str, Any]:
    return admin_json(registry.get_initiative(db.session(), initiative_id))


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/close",
    methods=["POST"],
    auth="admin",
    responses={200: "initiative"},
    errors=("INITIATIVE_CLOSED",),
    summary="Close collection for an initiative (irreversible).",
)
def close_initiative(initiative_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    initiative = registry.close_initiative(session, registry_log(), initiative_id)
    session.commit()
    return admin_json(initiative)


@endpoint(
    bp,
    "/v1/public/initiatives",
    methods=["GET"],
    auth="none",
    responses={200: "initiative_public_list"},
    summary="Public list of initiatives with signature counts.",
)
def public_list() -> dict[str, Any]:
    session = db.session()
    return {
        "initiatives": [
            {**public_json(i), "counts": registry.signature_counts(session, i.id)}
            for i in registry.list_initiatives(session)
        ]
    }


@endpoint(
    bp,
    "/v1/public/initiatives/<uuid:initiative_id>",
    methods=["GET"],
    auth="none",
    responses={200: "initiative_public"},
    summary="Public view of one initiative with its signature counts.",
)
def public_get(initiative_id: uuid.UUID) -> dict[str, Any]:
    session = db.session()
    initiative = registry.get_initiative(session, initiative_id)
    return {**public_json(initiative), "counts": registry.signature_counts(session, initiative.id)}


_FORM_QUERY = [
    {
        "name": "given_name",
        "in": "query",
        "required": True,
        "description": "given name(s) exactly as in the signer's certificate",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
    },
    {
        "name": "surname",
        "in": "query",
        "required": True,
        "description": "surname exactly as in the signer's certificate",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
    },
    {
        "name": "personal_code",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{CANONICAL_PATTERN}$"},
    },
    {
        "name": "date",
        "in": "query",
        "required": True,
        "description": "signing date, Europe/Riga calendar",
        "schema": {"type": "string", "format": "date"},
    },
]


def _query(name: str) -> str:
    values = request.args.getlist(name)
    if len(values) != 1:
        raise ApiError("INVALID_PARAMETER", f"{name}: give it exactly once")
    return values[0]


@endpoint(
    bp,
    "/v1/initiatives/<uuid:initiative_id>/form",
    methods=["GET"],
    auth="platform_or_admin",
    responses={200: None},
    query=_FORM_QUERY,
    media_type="text/plain; charset=utf-8",
    errors=("INVALID_PARAMETER", "INITIATIVE_CLOSED"),
    summary="The signature form v1 to sign, byte-exact (text/plain; charset=utf-8).",
)
def signature_form(initiative_id: uuid.UUID) -> Response:
    require_platform(initiative_id, allow_admin=True)
    initiative = registry.get_initiative(db.session(), initiative_id)
    unknown = set(request.args) - {q["name"] for q in _FORM_QUERY}
    if unknown:
        raise ApiError("INVALID_PARAMETER", "unknown query parameter(s)")
    given_name, surname = _query("given_name"), _query("surname")
    personal_code, signing_date = _query("personal_code"), _query("date")
    if len(given_name) > MAX_NAME_LENGTH or len(surname) > MAX_NAME_LENGTH:
        raise ApiError("INVALID_PARAMETER", f"names are limited to {MAX_NAME_LENGTH} characters")
    if not is_canonical(personal_code):
        raise ApiError("INVALID_PARAMETER", "personal_code: expected DDMMYY-NNNNN")
    if not _ISO_DATE.fullmatch(signing_date):
        raise ApiError("INVALID_PARAMETER", "date: expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(signing_date)
    except ValueError as exc:
        raise ApiError("INVALID_PARAMETER", "date: not a calendar date") from exc
    if initiative.status is InitiativeStatus.CLOSED:
        raise ApiError("INITIATIVE_CLOSED", "the initiative is closed")
    try:
        form = render_form(
            registry.initiative_fields(initiative),
            SignerFields(given_name, surname, personal_code, day),
        )
    except FormFieldError as exc:
        # The renderer's messages name the field, never its value.
        raise ApiError("INVALID_PARAMETER", str(exc)) from exc
    return Response(form, status=200, content_type="text/plain; charset=utf-8")
