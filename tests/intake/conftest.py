"""PostgreSQL for the intake-parts tests.

Uses the suite's `postgres_server` fixture (tests/conftest.py: SIGSVC_TEST_POSTGRES_URL or a
private cluster) when it exists, with a fresh database per test module; otherwise
SIGSVC_TEST_POSTGRES_URL directly; otherwise the PostgreSQL cases skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def intake_pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    try:
        server = request.getfixturevalue("postgres_server")
    except pytest.FixtureLookupError:
        server = None
    if server is not None:
        name = f"sigsvc_intake_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url: str = server.create_database(name)
        try:
            yield url
        finally:
            server.drop_database(name)
        return
    given = os.environ.get("SIGSVC_TEST_POSTGRES_URL", "")
    if not given:
        pytest.skip("no PostgreSQL: SIGSVC_TEST_POSTGRES_URL not set")
    yield given
