"""Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Flask, request

from sigsvc import config as config_module
from sigsvc import db
from sigsvc.web import errors, requestlog, transport
from sigsvc.web.errors import ApiError


def create_app(
    test_config: Mapping[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the app: config from the environment, then `test_config` on top."""
    instance_path = instance_path or os.environ.get("SIGSVC_INSTANCE_PATH") or None
    app = Flask("sigsvc", instance_path=instance_path, static_folder=None)
    app.config.update(config_module.from_env(os.environ, app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # UTF-8 bodies, readable Latvian
    requestlog.configure_logging(app.config["LOG_LEVEL"])

    requestlog.init_app(app)  # first: every later hook and handler sees the request id
    errors.init_app(app)
    db.init_app(app)
    transport.init_app(app)

    @app.before_request
    def _size_gate() -> None:
        # Flask only enforces MAX_CONTENT_LENGTH when a view reads the body; check every request.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            raise ApiError("TOO_LARGE", f"the body exceeds {limit} bytes")

    from sigsvc.api import batches, health, initiatives, log, openapi, platforms, signatures

    for module in (health, initiatives, platforms, signatures, batches, log, openapi):
        app.register_blueprint(module.bp)

    from sigsvc import pages  # public pages, receipt check, operator console (issue 16)

    pages.init_app(app)

    token_log_key = app.config.get("TOKEN_KEYS", {}).get("SIGSVC_LOG_KEY_LABEL")
    if app.config.get("LOG_KEY_FILE") or token_log_key:  # build trust and keys now
        from sigsvc import services

        try:
            services.get(app)
        except services.IntakeConfigError as exc:  # /readyz reports it; intake answers 503
            structlog.get_logger("sigsvc.intake").error("intake_not_configured", detail=str(exc))

    return app
