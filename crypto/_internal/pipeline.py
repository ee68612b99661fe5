"""ASiC-E/XAdES verification, step by step (ETSI EN 319 102-1 §5.3 basic signature validation
plus §5.5 validation with time; docs/design.md reason order decides which failure is reported)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import x509

from crypto._internal import algorithms, budget, chain, qualification, revocation
from crypto._internal.archive import ArchiveInput
from crypto._internal.asic import parse_asic
from crypto._internal.binding import check_binding, riga_date
from crypto._internal.identity import signer_from_certificate
from crypto._internal.revoked_later import validate_at
from crypto._internal.timestamp import VerifiedTimestamp, verify_token
from crypto._internal.xades import TimestampRef, parse_and_verify
from crypto.errors import (
    CertExpired,
    CertNotYetValid,
    DocumentMismatch,
    InvalidPersonalCode,
    NoTimestamp,
    OutsidePeriod,
    RevocationUnavailable,
    TimestampInvalid,
    Underage,
    VerificationError,
)
from crypto.fetcher import Fetcher
from crypto.personal_code import age_on
from crypto.policy import Policy
from crypto.reasons import Indication, SubIndication
from crypto.trust import TEST_ANCHOR, TrustStore
from crypto.verdict import DataFile, Evidence, Signer, Verdict

_CLOCK_SKEW = timedelta(minutes=5)
FORMAT_ASIC = "ASiC-E/XAdES"


@dataclass
class Progress:
    """What is known so far; a reject verdict still reports it."""

    format: str | None = None
    level: str | None = None
    signer: Signer | None = None
    signing_time: datetime | None = None
    data_file: DataFile | None = None
    evidence: Evidence = field(default_factory=Evidence)
    warnings: list[str] = field(default_factory=list)
    trust_source: str | None = None

    def verdict(self, error: VerificationError | None) -> Verdict:
        return Verdict(
            verdict="reject" if error else "accept",
            reason=error.reason if error else None,
            indication=error.indication if error else Indication.TOTAL_PASSED,
            subindication=error.subindication if error else None,
            format=self.format,
            level=self.level,
            signer=self.signer,
            signing_time=self.signing_time,
            data_file=self.data_file,
            evidence=self.evidence,
            warnings=tuple(self.warnings),
            trust_source=self.trust_source,
            message=error.message if error else "",
        )


def verify_asic(
    container: bytes,
    policy: Policy,
    trust: TrustStore,
    fetcher: Fetcher | None,
    at: datetime,
    progress: Progress,
) -> None:
    """Raise the most fundamental VerificationError, or return with `progress` complete."""
    progress.format = FORMAT_ASIC
    note_trust_freshness(trust, at, progress)
    # 1. Container structure (EN 319 162-1), hostile-input limits.
    asic = parse_asic(container, policy.limits)
    progress.data_file = DataFile(asic.data_name, asic.data)
    budget.check("container structure")
    # 2. XAdES core validation: references, signing certificate, signature value.
    sig = parse_and_verify(
        asic.signature_xml,
        asic.data_name,
        asic.data,
        policy.limits,
        policy.algorithms,
        trust.parse_certificate,
    )
    progress.level = sig.level
    budget.check("XAdES core validation")
    verify_signer(
        progress,
        Signed(
            leaf=sig.signer_cert,
            leaf_der=sig.signer_der,
            other_certs=sig.other_certs,
            timestamps=sig.timestamps,
            claimed_signing_time=sig.claimed_signing_time,
            ocsps=sig.ocsps,
            crls=sig.crls,
            data=asic.data,
            archive_timestamps=sig.archive_timestamps,
        ),
        policy,
        trust,
        fetcher,
        at,
    )


@dataclass(frozen=True)
class Signed:
    """What a cryptographically intact signature yields, whatever its format."""

    leaf: x509.Certificate
    leaf_der: bytes  # original encoding: evidence and the identity's certificate digest
    other_certs: tuple[x509.Certificate, ...]
    timestamps: tuple[TimestampRef, ...]
    claimed_signing_time: datetime | None
    ocsps: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    data: bytes
    # XAdES ArchiveTimeStamps / PAdES document time stamps, oldest first, with their inputs
    archive_timestamps: tuple[ArchiveInput, ...] = ()


def verify_signer(
    progress: Progress,
    sig: Signed,
    policy: Policy,
    trust: TrustStore,
    fetcher: Fetcher | None,
    at: datetime,
) -> None:
    """Steps 3-11, shared by XAdES and PAdES."""
    leaf = sig.leaf
    progress.evidence = Evidence(
        signer_certificate=sig.leaf_der, ocsp_responses=sig.ocsps, crls=sig.crls
    )
    # 3. Identity (reported even on later failures; an invalid code is raised in its turn).
    code_error: InvalidPersonalCode | None = None
    try:
        progress.signer = signer_from_certificate(leaf, sig.leaf_der)
    except InvalidPersonalCode as exc:
        code_error = exc
    # 4. Signature time stamp: verified now, its failure raised in its turn (step 10).
    ts, ts_error = _timestamp(sig, trust, at, policy, fetcher, progress.warnings)
    moment = ts.gen_time if ts else at
    archive_error = _archive_timestamps(sig, ts, trust, at, policy, fetcher, progress.warnings)
    budget.check("signature time stamp")
    if ts:
        progress.signing_time = ts.gen_time
    # 5. Form binding: data file == form v1 for this initiative, identity and date.
    if progress.signer is not None:
        try:
            check_binding(sig.data, progress.signer, moment, policy)
        except DocumentMismatch as exc:
            if ts_error is not None:  # without a valid time stamp the form date is unknowable
                raise ts_error from exc
            raise
    try:
        # 6. Chain to a CA/QC service granted at the signing time (or a test anchor).
        tp = chain.trusted_path(leaf, list(sig.other_certs), trust, moment, fetcher=fetcher)
        # Each link's signature verifies before anything else is concluded from, or fetched for,
        # these certificates (no requests on behalf of forged certificates).
        chain.check_links(tp)  # SHA-1/MD5: WEAK_ALGORITHM, not UNTRUSTED_CHAIN
        progress.trust_source = tp.source
        code_error = code_error or _legacy_code_issuer(progress.signer, tp, trust)
        if tp.source == "test-anchor":
            progress.warnings.append("trust from a test/demo anchor, not from a trusted list")
        # 7. Qualification and key usage, 8. algorithm policy for the signer key.
        qualification.check_qualified(tp, trust, moment)
        qualification.check_key_usage(leaf)
        algorithms.check_public_key(leaf.public_key, policy.algorithms, "signing certificate")
        # 9. Validity at the signing time, then revocation (embedded first, else fetched).
        _check_validity(tp, moment)
        budget.check("certificate path")
        revinfo = _validate_with_revocation(tp, sig, trust, fetcher, moment, policy, progress)
        budget.check("path validation")
    except VerificationError as exc:
        if exc.subindication is not SubIndication.TRY_LATER:
            raise
        # An outage (503, retry later) must not hide a permanent condition that a retry
        # cannot change: no or an invalid time stamp, the period, the personal code.
        try:
            _final_checks(ts, ts_error or archive_error, code_error, progress, policy)
        except VerificationError as permanent:
            if permanent.subindication is not SubIndication.TRY_LATER:
                raise permanent from exc
        raise
    progress.evidence = Evidence(
        signer_certificate=sig.leaf_der,
        chain=tp.chain_der(),
        ocsp_responses=tuple(revinfo.ocsps),
        crls=tuple(revinfo.crls),
        timestamp_token=ts.token if ts else b"",
        timestamp_chain=ts.cert_ders if ts else (),
    )
    _final_checks(ts, ts_error or archive_error, code_error, progress, policy)


def _final_checks(
    ts: VerifiedTimestamp | None,
    ts_error: VerificationError | None,
    code_error: InvalidPersonalCode | None,
    progress: Progress,
    policy: Policy,
) -> None:
    """Steps 10-11: time stamp required and valid; collection period, age, personal code."""
    # 10. Time stamp required and valid.
    if ts_error is not None:
        raise ts_error
    if ts is None:  # time stamp not required by this policy
        progress.warnings.append("no time stamp: signing time not proven")
        return
    # 11. Collection period, age, personal code.
    if policy.period_start is not None and ts.gen_time < policy.period_start:
        raise OutsidePeriod("time stamp before the collection period")
    if policy.period_end is not None and ts.gen_time >= policy.period_end:
        raise OutsidePeriod("time stamp after the collection period")
    if code_error is not None:
        raise code_error
    assert progress.signer is not None
    _check_age(progress.signer, ts.gen_time, policy, progress.warnings)


def _legacy_code_issuer(
    signer: Signer | None, tp: chain.TrustedPath, trust: TrustStore
) -> InvalidPersonalCode | None:
    """A bare DDMMYY-NNNNN is a Latvian personal code only from a CA on the LV list."""
    if signer is None or not signer.legacy_code or tp.source == TEST_ANCHOR:
        return None
    if trust.territory_of(tp.anchor) == "LV":
        return None
    return InvalidPersonalCode(
        "the serialNumber has no PNOLV- semantics identifier and its issuing CA is not on the "
        "Latvian trusted list"
    )


def _validate_with_revocation(
    tp: chain.TrustedPath,
    sig: Signed,
    trust: TrustStore,
    fetcher: Fetcher | None,
    moment: datetime,
    policy: Policy,
    progress: Progress,
) -> revocation.Revinfo:
    """Path validation with revocation at `moment`: embedded evidence first; when it is missing,
    does not meet the freshness rule or does not verify (e.g. an unauthorised responder), fresh
    evidence from the fetcher (at intake: produced now, after the time stamp)."""
    pairs = tp.pairs()
    warnings: list[str] = []
    revinfo: revocation.Revinfo | None = None
    try:
        revinfo = revocation.evidence(pairs, sig.ocsps, sig.crls, fetcher, moment, policy, warnings)
        validate_at(tp, trust, moment, revinfo, warnings)
    except RevocationUnavailable as exc:
        # revinfo None: the fetcher was already asked (or there is none); fetched: nothing new
        if fetcher is None or revinfo is None or revinfo.fetched:
            progress.warnings.extend(warnings)
            raise
        warnings = [f"embedded revocation data not usable: {exc.message}"]
        try:
            revinfo = revocation.evidence(
                pairs, (), (), fetcher, moment, policy, warnings, fetch_first=True
            )
            validate_at(tp, trust, moment, revinfo, warnings)
        finally:
            progress.warnings.extend(warnings)
        return revinfo
    progress.warnings.extend(warnings)
    return revinfo


def note_trust_freshness(trust: TrustStore, at: datetime, progress: Progress) -> None:
    """Warn when a trusted list was stale when fetched or is past its NextUpdate at `at`."""
    for info in trust.lists:
        if info.stale or (info.next_update is not None and at > info.next_update):
            progress.warnings.append(
                f"trusted list {info.territory} #{info.sequence} is past its NextUpdate"
            )


def _timestamp(
    sig: Signed,
    trust: TrustStore,
    at: datetime,
    policy: Policy,
    fetcher: Fetcher | None,
    warnings: list[str],
) -> tuple[VerifiedTimestamp | None, VerificationError | None]:
    if not sig.timestamps:
        if policy.require_timestamp:
            return None, NoTimestamp("no signature time stamp (XAdES-T required)")
        return None, None
    try:
        ref = sig.timestamps[0]
        ts = verify_token(ref.token, ref.imprint_input, policy.algorithms, trust.parse_certificate)
        tsa_path = chain.trusted_tsa(ts.tsa_cert, ts.certs, trust, ts.gen_time, fetcher)
        if tsa_path is not None:
            _tsa_revocation(tsa_path, sig, trust, fetcher, ts.gen_time, policy, warnings)
        if ts.gen_time > at + _CLOCK_SKEW:
            raise TimestampInvalid("time stamp is later than the validation time")
        if sig.claimed_signing_time and sig.claimed_signing_time > ts.gen_time + _CLOCK_SKEW:
            raise TimestampInvalid(
                "claimed SigningTime is after the time stamp",
                subindication=SubIndication.TIMESTAMP_ORDER_FAILURE,
            )
    except VerificationError as exc:
        if isinstance(exc, TimestampInvalid) or exc.subindication is SubIndication.TRY_LATER:
            return None, exc  # an outage stays retryable (503), whichever certificate it is for
        return None, TimestampInvalid(exc.message)
    return ts, None


def _archive_timestamps(
    sig: Signed,
    ts: VerifiedTimestamp | None,
    trust: TrustStore,
    at: datetime,
    policy: Policy,
    fetcher: Fetcher | None,
    warnings: list[str],
) -> VerificationError | None:
    """Every archive time stamp present (XAdES ArchiveTimeStamp, PAdES document time stamp):
    its imprint over what it covers, its TSA a granted QTST (or test anchor) at its genTime,
    its TSA certificate unrevoked at its genTime by the signature time stamp's rule, each one
    no earlier than the time stamp before it and none after `at`."""
    previous = ts.gen_time if ts else None
    for n, ref in enumerate(sig.archive_timestamps, 1):
        try:
            ats = verify_token(
                ref.token, ref.imprint_input, policy.algorithms, trust.parse_certificate
            )
            tsa_path = chain.trusted_tsa(ats.tsa_cert, ats.certs, trust, ats.gen_time, fetcher)
            if tsa_path is not None:
                _tsa_revocation(tsa_path, sig, trust, fetcher, ats.gen_time, policy, warnings)
            if ats.gen_time > at + _CLOCK_SKEW:
                raise TimestampInvalid("it is later than the validation time")
            if previous is not None and ats.gen_time < previous:
                raise TimestampInvalid(
                    "it is earlier than the time stamp it covers",
                    subindication=SubIndication.TIMESTAMP_ORDER_FAILURE,
                )
            previous = ats.gen_time
        except VerificationError as exc:
            if exc.subindication is SubIndication.TRY_LATER:
                return exc  # an outage stays retryable
            return TimestampInvalid(
                f"archive time stamp {n}: {exc.message}", subindication=exc.subindication
            )
    return None


def _tsa_revocation(
    tsa_path: chain.TrustedPath,
    sig: Signed,
    trust: TrustStore,
    fetcher: Fetcher | None,
    gen_time: datetime,
    policy: Policy,
    warnings: list[str],
) -> None:
    """The TSA certificate unrevoked at genTime, by the signer's rule (embedded, else fetched).

    Only for a TSA certificate that chains to a listed or anchored CA; a TSA certificate that is
    itself the listed QTST service has its trusted-list status as its status.
    """
    notes: list[str] = []
    try:
        revinfo = revocation.evidence(
            tsa_path.pairs(), sig.ocsps, sig.crls, fetcher, gen_time, policy, notes
        )
        validate_at(tsa_path, trust, gen_time, revinfo, notes)
    except RevocationUnavailable as exc:
        if exc.subindication is SubIndication.TRY_LATER:
            raise
        raise TimestampInvalid(f"TSA certificate revocation: {exc.message}") from exc
    except VerificationError as exc:
        raise TimestampInvalid(f"TSA certificate: {exc.message}") from exc
    finally:
        warnings.extend(f"TSA certificate: {n}" for n in notes)


def _check_validity(tp: chain.TrustedPath, moment: datetime) -> None:
    for cert, _issuer in tp.pairs():
        _window(cert, moment)


def _window(cert: x509.Certificate, moment: datetime) -> None:
    if moment < cert.not_valid_before:
        raise CertNotYetValid(
            f"{cert.subject.human_friendly} not valid until {cert.not_valid_before}"
        )
    if moment > cert.not_valid_after:
        raise CertExpired(f"{cert.subject.human_friendly} expired at {cert.not_valid_after}")


def _check_age(signer: Signer, moment: datetime, policy: Policy, warnings: list[str]) -> None:
    minimum = policy.minimum_age
    if minimum is None and policy.initiative is not None:
        minimum = policy.initiative.regime.minimum_age
    if minimum is None:
        return
    if signer.birth_date is None:
        warnings.append(
            f"age not derivable from a new-format personal code: eligibility ({minimum}+) "
            "for CVK to verify"
        )
        return
    if age_on(signer.birth_date, riga_date(moment)) < minimum:
        raise Underage(f"signer is younger than {minimum} on the signing date")
