"""Real parts for verifier tests: the test PKI's responders on 127.0.0.1, its signed trusted
list pinned to the test scheme operator, and the HTTP fetcher the CLI uses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from certification.testpki import Responders, clock, serve_responders
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import Policy, TrustedListSource, TrustStore, Verdict, verify
from sigsvc.intake.fetchers import HttpFetcher, crypto_fetcher

AT = clock.RESPONDER_TIME + timedelta(minutes=1)  # validation time: just after signing
TL_FETCHED = clock.TL_ISSUED + timedelta(hours=1)


@pytest.fixture(scope="session")
def responders() -> Iterator[Responders]:
    # Sibling worktrees may hold 127.0.0.1:48601 with another testpki build for a while;
    # werkzeug then exits instead of raising, so wait and retry (bounded).
    for attempt in range(30):
        try:
            with serve_responders() as running:
                yield running
                return
        except SystemExit:
            if attempt == 29:
                raise
            time.sleep(2)


@pytest.fixture(scope="session")
def trust() -> TrustStore:
    source = TrustedListSource(build_trusted_list(), (cert_der("tl_operator"),), TL_FETCHED)
    return TrustStore(trusted_lists=[source])


@pytest.fixture(scope="session")
def fetcher() -> HttpFetcher:
    return crypto_fetcher()


@pytest.fixture(scope="session")
def check(responders: Responders, trust: TrustStore, fetcher: HttpFetcher):  # type: ignore[no-untyped-def]
    """verify(container) against the test TL with live fetching, at AT."""

    def run(container: bytes, policy: Policy | None = None, *, offline: bool = False) -> Verdict:
        return verify(
            container,
            policy=policy or Policy(),
            trust=trust,
            fetcher=None if offline else fetcher,
            at=AT,
        )

    return run
