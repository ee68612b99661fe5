"""Qualification at the certificate's issuance and at the signing time (TS 119 615, as DSS)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from certification.testpki import Responders, make_form_edoc
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list, default_services
from crypto import Policy, Reason, TrustedListSource, TrustStore, verify

from .conftest import AT, TL_FETCHED


def _ica_granted_since(since: datetime) -> TrustStore:
    services = []
    for service in default_services():
        if service.cert_label == "ica":
            service = replace(service, current=replace(service.current, since=since))
        services.append(service)
    xml = build_trusted_list(services=services)
    return TrustStore(
        trusted_lists=[TrustedListSource(xml, (cert_der("tl_operator"),), TL_FETCHED)]
    )


def test_qualification_at_issuance_required(responders: Responders) -> None:
    # granted from 2026-01-01: after the certificate's issuance (2025-01-01), before signing
    trust = _ica_granted_since(datetime(2026, 1, 1, tzinfo=UTC))
    v = verify(
        make_form_edoc("valid_p384", level="LT"), policy=Policy(), trust=trust, fetcher=None, at=AT
    )
    assert v.reason is Reason.NOT_QUALIFIED
    assert v.message == "the issuing CA/QC service was not granted at issuance"


def test_qualification_at_issuance_and_signing_time_accepted(responders: Responders) -> None:
    trust = _ica_granted_since(datetime(2024, 12, 31, tzinfo=UTC))
    v = verify(
        make_form_edoc("valid_p384", level="LT"), policy=Policy(), trust=trust, fetcher=None, at=AT
    )
    assert v.accepted, v.message
