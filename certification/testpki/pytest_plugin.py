"""pytest fixtures for tests that use the test PKI.

In a conftest.py: ``from certification.testpki.pytest_plugin import responders  # noqa: F401``
(re-exporting the fixture), or list this module in a root conftest's ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .responders import Responders, serve_responders


@pytest.fixture(scope="session")
def responders() -> Iterator[Responders]:
    """The test PKI's OCSP/CRL/TSA responders on 127.0.0.1 (started or reused)."""
    with serve_responders() as running:
        yield running
