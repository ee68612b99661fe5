"""Signer-independent checks shared across verifications (crypto._internal.shared) never change a
verdict: the same containers give byte-identical verdicts with a cold and a warm cache, an entry
is never used under another trusted-list version or outside its validity window, and failures
are not remembered."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asn1crypto import ocsp
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.revinfo import validate_ocsp

from certification.testpki import Responders, clients, make_form_edoc, pki, signer
from certification.testpki.pki import cert_der
from certification.testpki.tl import (
    WITHDRAWN,
    Status,
    build_trusted_list,
    default_services,
)
from crypto import Policy, TrustedListSource, TrustStore, Verdict, verify
from crypto._internal import chain, pipeline, responders, shared, signer_step
from crypto._internal.responders import with_shared_certificates
from crypto._internal.shared import SharedChecks, Window
from crypto.errors import CertRevoked

from .conftest import AT, TL_FETCHED
from .test_reason_precedence import _resigned_with_sha1

POLICY = Policy()


def _list(sequence: int = 1, withdraw_ica: bool = False) -> TrustedListSource:
    services = default_services()
    if withdraw_ica:  # the signers' CA withdrawn before they signed: another list version
        services = [
            replace(
                s, current=Status(WITHDRAWN, datetime(2025, 1, 1, tzinfo=UTC)), history=(s.current,)
            )
            if s.cert_label == "ica"
            else s
            for s in services
        ]
    xml = build_trusted_list(services=services, sequence=sequence)
    return TrustedListSource(xml, (cert_der("tl_operator"),), TL_FETCHED)


def _store(checks: SharedChecks, **kwargs: object) -> TrustStore:
    source = _list(**kwargs)  # type: ignore[arg-type]
    return TrustStore(trusted_lists=[source], checks=checks)


def _tsa_by_its_ca(checks: SharedChecks) -> TrustStore:
    """The TSA trusted through its CA (a test anchor): its path and its OCSP responder are
    shared checks too."""
    services = [s for s in default_services() if s.cert_label != "tsa"]
    source = TrustedListSource(
        build_trusted_list(services=services), (cert_der("tl_operator"),), TL_FETCHED
    )
    return TrustStore(trusted_lists=[source], test_anchors=[cert_der("tsa_ca")], checks=checks)


def _forged_leaf() -> bytes:
    real = signer("valid_p384")
    forged = bytearray(real.cert_der)
    forged[-5] ^= 0x01  # inside the CA's signature value
    return make_form_edoc(replace(real, cert_der=bytes(forged)), level="LT")


@pytest.fixture(scope="module")
def containers(responders: Responders) -> dict[str, bytes]:
    weak = replace(signer("valid_p384"), cert_der=_resigned_with_sha1("valid_p384"))
    return {
        "valid_p384": make_form_edoc("valid_p384", level="LT"),
        "valid_rsa": make_form_edoc("valid_rsa", level="LT"),
        "no_prefix": make_form_edoc("no_prefix", level="LT"),
        "revoked": make_form_edoc("revoked", level="LT"),
        "expired_at_signing": make_form_edoc("expired", level="LT"),
        "not_yet_valid": make_form_edoc("not_yet_valid", level="LT"),
        "untrusted": make_form_edoc("untrusted", level="LT"),
        "not_qualified": make_form_edoc("not_qualified", level="LT"),
        "weak_rsa": make_form_edoc("weak_rsa", level="LT"),
        "sha1_certificate": make_form_edoc(weak, level="LT"),
        "forged_certificate": _forged_leaf(),
    }


def _bytes(verdict: Verdict) -> bytes:
    doc = verdict.to_json()
    doc["evidence"] = repr(verdict.evidence)  # every DER byte of the evidence, too
    return json.dumps(doc, sort_keys=True, default=str).encode()


def _verify(container: bytes, trust: TrustStore) -> bytes:
    return _bytes(verify(container, policy=POLICY, trust=trust, fetcher=None, at=AT))


def _root_anchored(checks: SharedChecks) -> TrustStore:
    """The root as the (test) anchor: every path runs through an intermediate CA, so the part
    above the signer is validated once and shared (crypto._internal.signer_step)."""
    return TrustStore(test_anchors=[cert_der("root")], checks=checks)


STORES = {
    "tl v1": lambda checks: _store(checks),
    "tl v2, CA withdrawn": lambda checks: _store(checks, sequence=2, withdraw_ica=True),
    "TSA through its CA": _tsa_by_its_ca,
    "root anchor, through the CA": _root_anchored,
}


@pytest.mark.parametrize("store", STORES)
def test_cold_and_warm_cache_give_identical_verdicts(
    containers: dict[str, bytes], store: str
) -> None:
    make = STORES[store]
    cold = {name: _verify(c, make(SharedChecks())) for name, c in containers.items()}
    with pytest.MonkeyPatch.context() as patch:  # every path validated whole, as before
        patch.setattr(signer_step, "split", lambda *args: None)
        whole = {name: _verify(c, make(SharedChecks())) for name, c in containers.items()}
    assert cold == whole
    checks = SharedChecks()
    warm_store = make(checks)
    for _ in range(2):  # the second round runs on what the first one remembered
        for name in ("valid_p384", "valid_rsa", "no_prefix"):
            _verify(containers[name], warm_store)
        assert checks.hits > 0 or store == "tl v2, CA withdrawn"
        warm = {name: _verify(c, warm_store) for name, c in containers.items()}
        assert warm == cold
    if store == "root anchor, through the CA":  # the split was taken, and shared
        assert any(key[0] == "path-above-signer" for key in checks.remembered_keys())
    verdicts = {name: json.loads(v)["reason"] for name, v in cold.items()}
    if store != "tl v2, CA withdrawn":  # the corpus covers accepts and each kind of reject
        assert verdicts["valid_p384"] is None and verdicts["valid_rsa"] is None
        assert verdicts["revoked"] == "CERT_REVOKED"
        assert verdicts["expired_at_signing"] == "CERT_EXPIRED"
        assert verdicts["untrusted"] == "UNTRUSTED_CHAIN"
        assert verdicts["sha1_certificate"] == "WEAK_ALGORITHM"
        assert verdicts["forged_certificate"] == "UNTRUSTED_CHAIN"
    else:
        assert verdicts["valid_p384"] == "NOT_QUALIFIED"


def test_an_entry_is_never_used_under_another_trusted_list_version(
    containers: dict[str, bytes],
) -> None:
    checks = SharedChecks()
    v1 = _store(checks)
    v2 = _store(checks, sequence=2, withdraw_ica=True)
    assert v1.version != v2.version
    assert json.loads(_verify(containers["valid_p384"], v1))["reason"] is None
    v1_keys = set(checks.remembered_keys())
    assert {key[1] for key in v1_keys} == {v1.version}  # (kind, version, ...)
    hits = checks.hits
    warm_v2 = _verify(containers["valid_p384"], v2)
    assert checks.hits == hits  # nothing v1 remembered was used
    cold_v2 = _store(SharedChecks(), sequence=2, withdraw_ica=True)
    assert warm_v2 == _verify(containers["valid_p384"], cold_v2)
    assert json.loads(warm_v2)["reason"] == "NOT_QUALIFIED"
    assert {key[1] for key in set(checks.remembered_keys()) - v1_keys} == {v2.version}


def test_a_responder_check_is_not_used_outside_its_validity_window(
    containers: dict[str, bytes],
) -> None:
    checks = SharedChecks()
    _verify(containers["valid_p384"], _store(checks))
    responder_keys = [k for k in checks.remembered_keys() if k[0] == "ocsp-responder"]
    assert len(responder_keys) == 1
    # the ICA's OCSP responder certificate is valid 2025-01-01 .. 2030-01-01 (pki.yml)
    inside = datetime(2026, 6, 1, tzinfo=UTC)
    outside = datetime(2030, 1, 2, tzinfo=UTC)
    assert checks.get(responder_keys[0], inside) is True
    assert checks.get(responder_keys[0], outside) is None
    assert checks.get(responder_keys[0], datetime(2024, 12, 31, tzinfo=UTC)) is None


def test_failures_are_not_remembered(containers: dict[str, bytes]) -> None:
    checks = SharedChecks()
    store = _store(checks)
    for name in ("forged_certificate", "untrusted"):
        before = set(checks.remembered_keys())
        assert json.loads(_verify(containers[name], store))["reason"] == "UNTRUSTED_CHAIN"
        assert set(checks.remembered_keys()) - before == set(), name  # no path, no link remembered


def test_window_and_lru_bounds() -> None:
    checks = SharedChecks(max_entries=2)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    checks.put("a", Window(moment, moment + timedelta(days=1)), 1)
    checks.put("b", Window(None, None), 2)
    assert checks.get("a", moment) == 1  # a is now the most recently used
    assert checks.get("a", moment + timedelta(days=2)) is None  # outside its window
    checks.put("c", Window(None, None), 3)  # drops b, the least recently used
    assert checks.remembered_keys() == ["a", "c"]


def test_the_responder_hook_is_installed_on_the_function_pyhanko_calls() -> None:
    # fails loudly if pyhanko-certvalidator renames or moves the wrapped function
    assert validate_ocsp._validate_delegated_ocsp_provenance is responders._shared_provenance
    assert shared.CURRENT.get() is None  # nothing leaks out of a verification


def test_an_ocsp_response_carries_the_stores_parsed_responder_certificate(
    responders: Responders,
) -> None:
    """Its responder certificate is the store's fully parsed one from the second sighting on,
    and the response still encodes (and signs) exactly the bytes received."""
    der = clients.fetch_ocsp(pki.signer("valid_p384").cert, pki.cert("ica"))
    store = _store(SharedChecks())
    first = with_shared_certificates(der, store.parse_certificate)
    second = with_shared_certificates(der, store.parse_certificate)
    received = ocsp.OCSPResponse.load(der)["response_bytes"]["response"].parsed
    assert received["certs"][0].dump() == cert_der("ica_ocsp")
    for response in (first, second):
        basic = response["response_bytes"]["response"].parsed
        assert response.dump() == der
        assert basic["tbs_response_data"].dump() == received["tbs_response_data"].dump()
        assert basic["certs"][0].dump() == cert_der("ica_ocsp")
    shared_cert = store.shared_certificate(cert_der("ica_ocsp"))
    assert second["response_bytes"]["response"].parsed["certs"][0] is shared_cert
    # an unsuccessful or unreadable response is handed on as received
    unsuccessful = bytes(ocsp.OCSPResponse({"response_status": "try_later"}).dump())
    assert with_shared_certificates(unsuccessful, store.parse_certificate).dump() == unsuccessful


def _signer_validation(container: bytes, store: TrustStore) -> tuple[chain.TrustedPath, Any, Any]:
    """The signer's path, validation moment and revocation evidence of one verification."""
    seen = []
    original = pipeline.validate_at

    def spy(tp: chain.TrustedPath, trust: TrustStore, moment: datetime, revinfo: Any, w: Any):
        seen.append((tp, moment, revinfo))
        return original(tp, trust, moment, revinfo, w)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "validate_at", spy)
        assert json.loads(_verify(container, store))["reason"] is None
    return seen[-1]  # after the TSA certificate's


def _crl_revoking(label: str, issuer: str, this_update: datetime) -> bytes:
    """A CRL of `issuer` (no distribution point: it covers all its certificates) that lists
    `label` as revoked a day before `this_update`."""
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes

    issuer_cert = cx509.load_der_x509_certificate(cert_der(issuer))
    revoked = (
        cx509.RevokedCertificateBuilder()
        .serial_number(cx509.load_der_x509_certificate(cert_der(label)).serial_number)
        .revocation_date(this_update - timedelta(days=1))
        .build()
    )
    crl = (
        cx509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(this_update)
        .next_update(this_update + timedelta(days=30))
        .add_revoked_certificate(revoked)
        .sign(pki.private_key(issuer), hashes.SHA256())  # type: ignore[arg-type]
    )
    return crl.public_bytes(serialization.Encoding.DER)


def test_a_revoked_intermediate_is_judged_on_the_whole_path_even_when_warm(
    containers: dict[str, bytes],
) -> None:
    """The part above the signer is shared only for requests whose revocation data cannot
    speak about it: a CRL revoking the intermediate CA gives CERT_REVOKED warm and cold."""
    checks = SharedChecks()
    store = _root_anchored(checks)
    tp, moment, revinfo = _signer_validation(containers["valid_p384"], store)
    assert any(key[0] == "path-above-signer" for key in checks.remembered_keys())
    hits = checks.hits
    with shared.running(checks, store.version):  # warm, without the CRL: the entry is used
        chain.validate(tp, store, moment, revinfo.ocsp_responses(), revinfo.crls)
    assert checks.hits > hits
    crl = _crl_revoking("ica", "root", moment - timedelta(hours=1))
    messages = []
    for trust in (store, _root_anchored(SharedChecks())):  # warm, then cold
        with shared.running(trust.checks, trust.version), pytest.raises(CertRevoked) as raised:
            chain.validate(tp, trust, moment, revinfo.ocsp_responses(), [*revinfo.crls, crl])
        messages.append(raised.value.message)
    assert messages[0] == messages[1]
    assert "intermediate" in messages[0]


def test_the_part_above_the_signer_is_not_used_outside_its_window_or_trust_version(
    containers: dict[str, bytes],
) -> None:
    checks = SharedChecks()
    store = _root_anchored(checks)
    _verify(containers["valid_p384"], store)
    ica = hashlib.sha256(cert_der("ica")).digest()
    keys = [k for k in checks.remembered_keys() if k[0] == "path-above-signer" and ica in k]
    assert len(keys) == 1 and keys[0][1] == store.version
    # after the intermediate CA expires, or before it was issued, the part above is validated
    # again (and fails)
    ica_cert = pki.cert("ica")
    second = timedelta(seconds=1)
    assert checks.get(keys[0], ica_cert.not_valid_after) is True
    assert checks.get(keys[0], ica_cert.not_valid_after + second) is None
    assert checks.get(keys[0], ica_cert.not_valid_before - second) is None
    # another trust version (here with the intermediate configured too) never uses the entry:
    # it validates the part above for itself
    other = TrustStore(
        test_anchors=[cert_der("root")], intermediates=[cert_der("ica")], checks=checks
    )
    assert other.version != store.version
    before = set(checks.remembered_keys())
    assert json.loads(_verify(containers["valid_p384"], other))["reason"] is None
    added = [k for k in set(checks.remembered_keys()) - before if k[0] == "path-above-signer"]
    assert [k[1] for k in added if ica in k] == [other.version]


def test_the_split_is_not_taken_where_it_could_differ() -> None:
    """Only paths whose state above the signer is the anchor's initial one are split."""
    leaf = pki.signer("valid_p384").cert
    ica, root = pki.cert("ica"), pki.cert("root")
    store = _root_anchored(SharedChecks())
    anchor = store.trust_manager.as_trust_anchor(AuthorityWithCert(root))
    assert anchor is not None
    path = ValidationPath(anchor, [ica], leaf)
    policy = chain._SIGNER_REVOCATION
    assert signer_step.split(path, policy, []) is not None
    assert signer_step.hands_down_initial_state(path.copy_and_drop_leaf())
    assert signer_step.may_issue([ica], 2)
    assert not signer_step.may_issue([leaf], 2)  # not a CA: the whole path would fail (k)
    # the CA declares CRL distribution points: with CRLs in the request, no split
    assert signer_step.split(path, policy, [b"a CRL"]) is None
    # one link: nothing above the signer to share
    ica_anchor = store.anchor_manager(ica).as_trust_anchor(AuthorityWithCert(ica))
    assert ica_anchor is not None
    assert signer_step.split(ValidationPath(ica_anchor, [], leaf), policy, []) is None
