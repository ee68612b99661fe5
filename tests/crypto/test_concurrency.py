"""Threads verifying at once with one TrustStore (as the serve's worker threads do).

The store shares parsed asn1crypto objects that parse their children lazily; before the
store's verification lock, 8 threads over these containers rejected some valid signatures
(MALFORMED_CONTAINER from a half-parsed certificate, UNTRUSTED from an empty issuer name).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from certification.testpki import TEST_INITIATIVE, Responders, clock, make_form_edoc
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import Policy, TrustedListSource, TrustStore, verify
from crypto._internal import chain

SIGNERS = ("valid_p384", "valid_rsa", "no_prefix")


@pytest.fixture
def fast_switching() -> Iterator[None]:
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up at once
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


def _listed() -> TrustStore:
    return TrustStore(
        trusted_lists=[
            TrustedListSource(
                build_trusted_list(),
                (cert_der("tl_operator"),),
                clock.TL_ISSUED + timedelta(hours=1),
            )
        ]
    )


def _root_anchored() -> TrustStore:
    """Paths through the issuing CA: the part above the signer is shared between threads."""
    return TrustStore(test_anchors=[cert_der("root")])


@pytest.mark.parametrize("make_store", [_listed, _root_anchored])
def test_concurrent_verifications_on_a_fresh_store_all_accept(
    responders: Responders, fast_switching: None, make_store: Callable[[], TrustStore]
) -> None:
    containers = [make_form_edoc(s, level="LT") for s in SIGNERS for _ in range(2)]
    policy = Policy(initiative=TEST_INITIATIVE)
    at = clock.RESPONDER_TIME + timedelta(minutes=1)
    for _ in range(5):  # a fresh store each round: nothing parsed yet, caches empty
        trust = make_store()

        results: list[tuple[bool, str]] = []

        def worker(
            k: int, trust: TrustStore = trust, results: list[tuple[bool, str]] = results
        ) -> None:
            try:
                for i in range(k, k + 6):
                    verdict = verify(
                        containers[i % len(containers)],
                        policy=policy,
                        trust=trust,
                        fetcher=None,
                        at=at,
                    )
                    results.append((verdict.accepted, verdict.message))
            finally:
                chain._LOCAL.loop.close()  # this thread's asyncio loop (crypto keeps one each)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 48
        assert [message for accepted, message in results if not accepted] == []
