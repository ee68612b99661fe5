"""TrustStore: test TL pinned to its operator, EU LOTL -> national list, status history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certification.testpki import clock
from certification.testpki.lotl import build_lotl
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import TrustedListSource, TrustStore, VerificationError
from crypto.trust import CA_QC_URI, TrustedListInfo
from tests.crypto.conftest import TL_FETCHED

LOTL_FETCHED = TL_FETCHED


def _lotl(lv_operator: str = "tl_operator") -> bytes:
    """The test EU-LOTL-shaped list (signed by `lotl_operator`) announcing LV's operator."""
    return build_lotl(tl_signers=(lv_operator,))


def test_pinned_test_list_loads_with_metadata(trust: TrustStore) -> None:
    (info,) = trust.lists
    assert info == TrustedListInfo(
        "LV", 1, clock.TL_ISSUED, clock.TL_NEXT_UPDATE, TL_FETCHED, False
    )
    kinds = {(s.kind, s.name) for s in trust.services()}
    assert ("CA/QC", "TEST LV eID ICA 2025") in kinds
    assert ("QTST", "TEST eParaksts TSA 2025") in kinds


def test_status_history_is_honoured(trust: TrustStore) -> None:
    from certification.testpki.pki import cert

    legacy = cert("legacy_ica")
    assert trust.granted_services(legacy, datetime(2025, 8, 1, tzinfo=UTC), CA_QC_URI)
    assert not trust.granted_services(legacy, clock.SIGNING_TIME, CA_QC_URI)


def test_stale_list_is_flagged() -> None:
    late = clock.TL_NEXT_UPDATE.replace(day=2)
    store = TrustStore(
        trusted_lists=[TrustedListSource(build_trusted_list(), (cert_der("tl_operator"),), late)]
    )
    assert store.lists[0].stale


def test_lotl_announces_the_national_operator() -> None:
    store = TrustStore(
        lotl=TrustedListSource(_lotl(), (cert_der("lotl_operator"),), LOTL_FETCHED),
        trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
    )
    assert store.lists[0].territory == "LV"
    assert any(s.name == "TEST LV eID ICA 2025" for s in store.services())


def test_lotl_signature_is_checked() -> None:
    with pytest.raises(VerificationError):
        TrustStore(
            lotl=TrustedListSource(_lotl(), (cert_der("tl_operator"),), LOTL_FETCHED),  # wrong pin
            trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
        )


def test_national_list_by_unannounced_operator_is_rejected() -> None:
    with pytest.raises(VerificationError):
        TrustStore(
            lotl=TrustedListSource(
                _lotl(lv_operator="tl_operator_other"), (cert_der("lotl_operator"),), LOTL_FETCHED
            ),
            trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
        )


def test_unpinned_list_without_lotl_is_rejected() -> None:
    with pytest.raises(VerificationError):
        TrustStore(trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)])
