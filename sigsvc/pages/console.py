"""The operator console under /console: log in with an admin token, then initiatives,
platforms, batches, retention and health. Every form is POST with the session's CSRF token;
every answer is `Cache-Control: no-store` (a platform key is shown once, never cached)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from crypto.form import Regime
from sigsvc import db, services
from sigsvc.pages import console_session, health, i18n, operator
from sigsvc.pages.headers import behind_tls
from sigsvc.pages.i18n import translate

bp = Blueprint("pages_console", __name__, url_prefix="/console", template_folder="templates")
bp.after_request(i18n.remember)
F = TypeVar("F", bound=Callable[..., Any])


def _now() -> datetime:
    return datetime.now(UTC)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(
        render_template(template, section="console", console=g.get("console"), **context), status
    )
    return response


def _login_page(message: str | None = None, status: int = 200) -> Response:
    return _page("console/login.html", status, message=message)


def signed_in(view: F) -> F:
    """The view needs a console session; POSTs also need its CSRF token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            g.console = console_session.current(db.session())
        except console_session.ConsoleAuthError:
            response = _login_page(translate("console.expired"), 401)
            console_session.clear_cookie(response, secure=behind_tls())
            return response
        if request.method == "POST":
            try:
                console_session.check_csrf(g.console)
            except console_session.CsrfError:
                return _page("console/message.html", 403, error=("CSRF", translate("console.csrf")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def home() -> Response:
    try:
        console_session.current(db.session())
    except console_session.ConsoleAuthError:
        return _login_page()
    return redirect(url_for("pages_console.health_page"), 303)  # type: ignore[return-value]


@bp.post("/login")
def login() -> Response:
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        return _login_page(translate("console.csrf"), 403)
    session = db.session()
    made = console_session.login(session, request.form.get("token", ""))
    session.rollback()
    if made is None:
        return _login_page(translate("console.login.failed"), 401)
    _, cookie = made
    response = redirect(url_for("pages_console.health_page"), 303)
    console_session.set_cookie(response, cookie, secure=behind_tls())  # type: ignore[arg-type]
    return response  # type: ignore[return-value]


@bp.post("/logout")
@signed_in
def logout() -> Response:
    response = _login_page()
    console_session.clear_cookie(response, secure=behind_tls())
    return response


# --- initiatives ----------------------------------------------------------------------------


def _initiatives_page(status: int = 200, **context: Any) -> Response:
    session = db.session()
    return _page(
        "console/initiatives.html",
        status,
        initiatives=operator.initiatives(session),
        regimes=list(Regime),
        form=context.pop("form", {}),
        **context,
    )


@bp.get("/initiatives")
@signed_in
def initiatives() -> Response:
    return _initiatives_page()


@bp.post("/initiatives")
@signed_in
def register() -> Response:
    session = db.session()
    try:
        created = operator.register(session, services.log_service(_app()), request.form.to_dict())
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _initiatives_page(400, error=operator.refusal(exc), form=request.form.to_dict())
    return _initiatives_page(done=f"{created.registration_number}: {created.id}")


@bp.post("/initiatives/<uuid:initiative_id>/close")
@signed_in
def close(initiative_id: uuid.UUID) -> Response:
    session = db.session()
    try:
        closed = operator.close(session, services.log_service(_app()), initiative_id)
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _initiatives_page(409, error=operator.refusal(exc))
    return _initiatives_page(done=f"{closed.registration_number}: {closed.status.value}")


# --- platforms ------------------------------------------------------------------------------


def _platforms_page(status: int = 200, **context: Any) -> Response:
    session = db.session()
    return _page(
        "console/platforms.html",
        status,
        platforms=operator.platforms(session),
        initiatives=operator.initiatives(session),
        **context,
    )


@bp.get("/platforms")
@signed_in
def platforms() -> Response:
    return _platforms_page()


@bp.post("/platforms")
@signed_in
def create_platform() -> Response:
    session = db.session()
    try:
        platform, key = operator.create_platform(
            session,
            services.log_service(_app()),
            request.form.get("name", ""),
            request.form.getlist("initiative_ids"),
        )
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _platforms_page(400, error=operator.refusal(exc))
    return _platforms_page(new_key=key, new_platform=platform.name)


@bp.post("/platforms/<uuid:platform_id>/revoke")
@signed_in
def revoke_platform(platform_id: uuid.UUID) -> Response:
    session = db.session()
    try:
        platform = operator.revoke_platform(session, services.log_service(_app()), platform_id)
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _platforms_page(409, error=operator.refusal(exc))
    return _platforms_page(done=f"{platform.name}: {translate('platforms.revoked')}")


# --- batches --------------------------------------------------------------------------------


def _batches_page(status: int = 200, **context: Any) -> Response:
    session = db.session()
    days = int(current_app.config.get("RETENTION_DAYS") or 90)
    initiatives = operator.initiatives(session)
    return _page(
        "console/batches.html",
        status,
        batches=operator.batch_rows(session, days),
        initiatives=initiatives,
        numbers={str(i.id): i.registration_number for i in initiatives},
        **context,
    )


@bp.get("/batches")
@signed_in
def batches() -> Response:
    return _batches_page()


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@bp.post("/initiatives/<uuid:initiative_id>/batches")
@signed_in
def create_batch(initiative_id: uuid.UUID) -> Response:
    db.session().rollback()  # export runs its own transactions
    try:
        made = operator.create_batch(_app(), initiative_id, _now())
    except operator.REFUSALS as exc:
        return _batches_page(409, error=operator.refusal(exc))
    return _batches_page(done=f"#{made.get('sequence')}: {made.get('count')}")


@bp.post("/batches/<batch_id>/push")
@signed_in
def push(batch_id: str) -> Response:
    db.session().rollback()
    try:
        answer = operator.push_batch(_app(), batch_id)
    except operator.REFUSALS as exc:
        return _batches_page(502, error=operator.refusal(exc))
    return _batches_page(done=f"{batch_id}: {answer.get('status')}")


@bp.post("/batches/<batch_id>/acknowledgement")
@signed_in
def acknowledge(batch_id: str) -> Response:
    session = db.session()
    note = request.form.get("note", "").replace("\r\n", "\n").encode()
    try:
        batch = operator.acknowledge(_app(), session, batch_id, note, _now())
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _batches_page(422, error=operator.refusal(exc))
    return _batches_page(done=f"{batch.id}: {batch.status.value}")


# --- retention and health -------------------------------------------------------------------


def _retention_page(status: int = 200, **context: Any) -> Response:
    session = db.session()
    days = int(current_app.config.get("RETENTION_DAYS") or 90)
    rows = [b for b in operator.batch_rows(session, days) if b.purge_due is not None]
    return _page("console/retention.html", status, days=days, due=rows, now=_now(), **context)


@bp.get("/retention")
@signed_in
def retention() -> Response:
    return _retention_page()


@bp.post("/retention/purge")
@signed_in
def purge() -> Response:
    session = db.session()
    try:
        done = operator.purge(_app(), _now())
        session.commit()
    except operator.REFUSALS as exc:
        session.rollback()
        return _retention_page(409, error=operator.refusal(exc))
    return _retention_page(purged=done)


@bp.get("/health")
@signed_in
def health_page() -> Response:
    figures = health.gather(_app(), db.session(), _now())
    found = health.findings(figures)
    return _page(
        "console/health.html", figures=figures, findings=found, overall=health.worst(found)
    )
