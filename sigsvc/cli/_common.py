"""Helpers shared by CLI commands (no `command` here, so nothing is registered from it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import current_app
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


def registry_log() -> LogService:
    """The log the registry writes (appends without a key when intake is not configured)."""
    return services.log_service(current_app._get_current_object())  # type: ignore[attr-defined]
