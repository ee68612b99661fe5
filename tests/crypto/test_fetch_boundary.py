"""One fetcher boundary: outages are retryable, other fetcher failures are typed internal
errors, and no lock is held while a fetch is under way."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from asn1crypto.ocsp import OCSPResponse

from certification.testpki import Responders, make_form_edoc, signer
from certification.testpki.pki import cert_der
from crypto import (
    FetcherFailure,
    FetchError,
    Policy,
    Reason,
    SubIndication,
    TrustStore,
    verify,
)
from crypto._internal import chain
from sigsvc.intake.fetchers import HttpFetcher

from .conftest import AT

POLICY = Policy()


class _Failing:
    """A fetcher whose every call fails with `error` (and records the URLs asked for)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[str] = []

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        self.calls.append(url)
        raise self.error

    def crl(self, url: str) -> bytes:
        self.calls.append(url)
        raise self.error

    def certificate(self, url: str) -> bytes:
        self.calls.append(url)
        raise self.error


def test_fetch_outage_on_ocsp_is_retryable(trust: TrustStore, responders: Responders) -> None:
    fetcher = _Failing(FetchError("connection refused"))
    v = verify(make_form_edoc("valid_p384"), policy=POLICY, trust=trust, fetcher=fetcher, at=AT)
    assert (v.reason, v.subindication) == (Reason.REVOCATION_UNAVAILABLE, SubIndication.TRY_LATER)
    assert "connection refused" in v.message and fetcher.calls


def test_fetch_outage_on_aia_is_retryable(responders: Responders) -> None:
    """A missing intermediate whose caIssuers URL is down: retry later, not UNTRUSTED_CHAIN."""
    root_only = TrustStore(test_anchors=[cert_der("root")])
    person = signer("valid_p384")
    container = make_form_edoc(replace(person, chain_der=()))
    fetcher = _Failing(FetchError("timeout"))
    v = verify(container, policy=POLICY, trust=root_only, fetcher=fetcher, at=AT)
    assert (v.reason, v.subindication) == (Reason.REVOCATION_UNAVAILABLE, SubIndication.TRY_LATER)
    assert any("ca.crt" in url for url in fetcher.calls)


def test_fetcher_bug_is_a_typed_internal_error(trust: TrustStore, responders: Responders) -> None:
    fetcher = _Failing(KeyError("bug in the caller's fetcher"))
    with pytest.raises(FetcherFailure, match="KeyError"):
        verify(make_form_edoc("valid_p384"), policy=POLICY, trust=trust, fetcher=fetcher, at=AT)


class _Stalled(HttpFetcher):
    """The real HTTP fetcher whose OCSP call first waits (up to 5 s) for `release`."""

    def __init__(self) -> None:
        super().__init__(translate=lambda e: FetchError(str(e)))
        self.entered = threading.Event()
        self.release = threading.Event()

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        self.entered.set()
        self.release.wait(5)
        return super().ocsp(url, request_der)


def test_no_lock_held_across_network_io(trust: TrustStore, responders: Responders) -> None:
    slow = _Stalled()
    results: dict[str, object] = {}

    def stalled() -> None:
        try:
            v = verify(container, policy=POLICY, trust=trust, fetcher=slow, at=AT)
            results["stalled"] = v.accepted or v.message
        finally:
            chain._LOCAL.loop.close()  # this thread's asyncio loop (crypto keeps one each)

    container = make_form_edoc("valid_rsa")

    thread = threading.Thread(target=stalled)
    thread.start()
    try:
        assert slow.entered.wait(30)
        # Another verification with the same store finishes while the first waits on I/O.
        other = verify(
            make_form_edoc("valid_p384", level="LT"),
            policy=POLICY,
            trust=trust,
            fetcher=None,
            at=AT,
        )
        assert other.accepted, other.message
        assert not slow.release.is_set() and thread.is_alive()
    finally:
        slow.release.set()
        thread.join(30)
    assert results["stalled"] is True


class _Unusable:
    """A responder that answers, but nothing it says can prove anything: not an outage."""

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        return bytes(OCSPResponse({"response_status": "unauthorized"}).dump())

    def crl(self, url: str) -> bytes:
        return b"not a CRL"

    def certificate(self, url: str) -> bytes:
        raise FetchError("unused")


def test_revocation_permanent_condition_is_not_retryable(
    trust: TrustStore, responders: Responders
) -> None:
    v = verify(make_form_edoc("valid_p384"), policy=POLICY, trust=trust, fetcher=_Unusable(), at=AT)
    assert v.reason is Reason.REVOCATION_UNAVAILABLE
    assert v.subindication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE  # the API's 422
    assert "OCSP responder answered unauthorized" in v.message
    assert "unreadable CRL" in v.message
