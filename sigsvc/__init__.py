"""sigsvc: certified e-signature collection service (Flask). `create_app` is the factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Lazy re-export of sigsvc.app.create_app (for `flask --app sigsvc` and gunicorn)."""
    from sigsvc.app import create_app as factory

    return factory(*args, **kwargs)
