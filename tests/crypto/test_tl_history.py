"""Trusted-list history: every granted period of a service counts, identified as on the real
LV list by X509SubjectName + X509SKI (no certificate in the history entry)."""

from __future__ import annotations

from datetime import datetime, timedelta

from lxml import etree

from certification.testpki import Responders, clock, make_form_edoc
from certification.testpki.tl import build_trusted_list
from crypto import Policy, Reason, TrustStore, verify

from .conftest import AT

TSL = {"t": "http://uri.etsi.org/02231/v2#"}
BEFORE_WITHDRAWAL = clock.LEGACY_CA_WITHDRAWN - timedelta(days=30)


def test_tl_history_entries_carry_no_certificate_and_are_loaded(trust: TrustStore) -> None:
    root = etree.fromstring(build_trusted_list())
    history = root.findall(".//t:ServiceHistoryInstance", TSL)
    assert history and all(
        h.find("t:ServiceDigitalIdentity/t:DigitalId/t:X509Certificate", TSL) is None
        for h in history
    )
    legacy = [s for s in trust.services() if s.granted_until == clock.LEGACY_CA_WITHDRAWN]
    assert len(legacy) == 1 and legacy[0].kind == "CA/QC"


def _signed_at(moment: datetime) -> bytes:
    return make_form_edoc(
        "withdrawn_ca",
        level="LT",
        signing_time=moment,
        timestamp_at=moment + timedelta(seconds=5),
        ocsp_at=moment + timedelta(seconds=10),
    )


def test_tl_history_ca_withdrawn_after_signing_time_still_validates(
    trust: TrustStore, responders: Responders
) -> None:
    v = verify(_signed_at(BEFORE_WITHDRAWAL), policy=Policy(), trust=trust, fetcher=None, at=AT)
    assert v.accepted, v.message
    assert v.signing_time == BEFORE_WITHDRAWAL + timedelta(seconds=5)


def test_tl_history_signed_after_withdrawal_not_qualified(
    trust: TrustStore, responders: Responders
) -> None:
    v = verify(
        make_form_edoc("withdrawn_ca", level="LT"),
        policy=Policy(),
        trust=trust,
        fetcher=None,
        at=AT,
    )
    assert v.reason is Reason.NOT_QUALIFIED, v.message
