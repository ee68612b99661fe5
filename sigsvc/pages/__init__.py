"""Server-rendered pages: public transparency pages, the in-browser receipt check, and the
operator console. Jinja2 templates and static files live in this package (they ship in the
wheel); the only JavaScript is static/receipt.js. `init_app(app)` is the app factory's hook.

    /                         initiatives with counts          (public.py)
    /initiatives/<id>         one initiative, signatures per day as server-side SVG
    /log                      log size, latest checkpoint, history, how to verify
    /receipt                  "Check my receipt" (runs in the browser)
    /data/*.json|csv, /feed.atom   the same numbers, machine-readable (opendata.py)
    /console/...              operator console (console.py)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from sigsvc.pages import formatting, headers, i18n


def _pick(pair: tuple[str, str]) -> str:
    return pair[1] if i18n.language() == "en" else pair[0]


def init_app(app: Flask) -> None:
    from sigsvc.pages import console, opendata, public  # noqa: F401  (opendata adds routes)

    headers.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(console.bp)
    app.jinja_env.filters.update(
        day=formatting.day, moment=formatting.moment, age=formatting.age_text, pick=_pick
    )

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        if request.blueprint not in ("pages_public", "pages_console"):
            return {}
        return {"_": i18n.translate, "lang": i18n.language()}
