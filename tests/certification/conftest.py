from __future__ import annotations

from collections.abc import Iterator

import pytest

from certification.testpki import Responders, serve_responders


@pytest.fixture(scope="session")
def responders() -> Iterator[Responders]:
    """The test PKI's OCSP/CRL/TSA responders on 127.0.0.1 (started or reused)."""
    with serve_responders() as running:
        yield running
