"""ORM models. Each module here registers its tables on `sigsvc.db.Base.metadata`.

Add a module (e.g. `sigsvc/db/models/log.py`) and an Alembic revision; `import_all_models()` lets
Alembic's env.py and the tests see every table without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil

from sigsvc.db.models.core import (
    AdminToken,
    Initiative,
    InitiativeStatus,
    Platform,
    platform_initiatives,
    utcnow,
)

__all__ = [
    "AdminToken",
    "Initiative",
    "InitiativeStatus",
    "Platform",
    "import_all_models",
    "platform_initiatives",
    "utcnow",
]


def import_all_models() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
