"""Helpers shared by CLI commands (no `command` here, so nothing is registered from it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import current_app
from sqlalchemy.orm import Session

from sigsvc import db
from sigsvc.web.errors import ApiError


@contextmanager
def transaction() -> Iterator[Session]:
    """One committed transaction on the app's database; ApiError becomes a CLI error (exit 1)."""
    try:
        with db.session_scope(current_app) as session:
            yield session
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
