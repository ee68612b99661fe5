"""Helpers shared by CLI commands (no `command` here, so nothing is registered from it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from sigsvc import db, services
from sigsvc.log.service import LogService
from sigsvc.refusal import Refusal


@contextmanager
def transaction() -> Iterator[Session]:
    """One committed transaction on the app's database; a Refusal becomes a CLI error (exit 1)."""
    try:
        with db.session_scope(current_app) as session:
            yield session
    except Refusal as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def require_test_now() -> None:
    """`--now` moves what an operator command decides (what is due, what expired, a fetch's
    time) and is for tests only: refused unless SIGSVC_TEST_ALLOW_NOW=1. Log events are dated
    by the clock whatever `--now` says (the log refuses times beyond it)."""
    allowed = os.environ.get("SIGSVC_TEST_ALLOW_NOW") == "1" or (
        has_app_context() and bool(current_app.config.get("TEST_ALLOW_NOW"))
    )
    if not allowed:
        raise click.UsageError("--now is test-only (needs SIGSVC_TEST_ALLOW_NOW=1)")


def registry_log() -> LogService:
    """The log the registry writes (appends without a key when intake is not configured)."""
    return services.log_service(current_app._get_current_object())  # type: ignore[attr-defined]
