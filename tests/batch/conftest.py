"""Batch fixtures: real LT .edoc containers from the test PKI (time-stamped by the local TSA,
OCSP embedded from the local responder), an operator seal PKI, a log per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from certification.sealpki import make_seal_pki
from certification.testpki import Responders, clock, make_form_edoc, serve_responders
from certification.testpki.sign import identity
from sigsvc.export.seal import FileSealer
from tests.batch.kit import Kit, Person

SIGNERS = ("valid_p384", "valid_rsa", "no_prefix")


@pytest.fixture(scope="session")
def responders() -> Iterator[Responders]:
    with serve_responders() as running:
        yield running


@pytest.fixture(scope="session")
def edocs(responders: Responders) -> list[tuple[bytes, Person]]:
    """Six real containers: each signer twice (different SigningTime, so different bytes)."""
    made = []
    for n in range(6):
        name = SIGNERS[n % len(SIGNERS)]
        container = make_form_edoc(
            name, level="LT", signing_time=clock.SIGNING_TIME + timedelta(seconds=n)
        )
        who = identity(name)
        made.append((container, Person(who.given_name, who.surname, who.personal_code)))
    return made


@pytest.fixture(scope="session")
def seal_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_seal_pki().write(tmp_path_factory.mktemp("seal"))


@pytest.fixture
def kit(tmp_path: Path, seal_files: tuple[Path, Path, Path]) -> Kit:
    return Kit(tmp_path, FileSealer.from_files(seal_files[0], seal_files[1]), seal_files[2])
