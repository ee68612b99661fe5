"""Path validation at the time stamp T, where a revocation *after* T is not a reject.

ETSI EN 319 102-1 (§5.2.6 and the past signature validation of §5.6.2.4): a certificate revoked
after the best signature time was valid when the signature was made; the revocation is reported
but the signature stands. A revocation at or before T stays CERT_REVOKED.

pyhanko-certvalidator, validating at T, raises only for a revocation at or before T; an OCSP
"revoked" with a later revocation time is merely "not good", which surfaces as insufficient
revocation data. Validated once more at the revocation time, pyhanko verifies the same response
(signature, responder authorised by the issuer, certificate identified) and then reports the
revocation: that proves the response authentic without re-implementing any of those checks.
"""

from __future__ import annotations

from datetime import datetime

from crypto._internal import chain
from crypto._internal.revocation import Revinfo
from crypto.errors import CertRevoked, RevocationUnavailable, VerificationError
from crypto.trust import TrustStore


def validate_at(
    tp: chain.TrustedPath,
    trust: TrustStore,
    moment: datetime,
    revinfo: Revinfo,
    warnings: list[str],
) -> None:
    """chain.validate at `moment` with `revinfo`, then the rule above for a stated revocation."""
    try:
        chain.validate(tp, trust, moment, revinfo.ocsp_responses(), revinfo.crls)
    except RevocationUnavailable:
        if revinfo.revoked is None or revinfo.revoked[0] <= moment:
            raise
        if not _authentic_revocation(tp, trust, revinfo):
            raise
    if revinfo.revoked is None:
        return
    revoked_at, reason = revinfo.revoked
    if revoked_at <= moment:  # e.g. a CRL entry dated exactly T, which pyhanko lets pass
        raise CertRevoked(f"certificate revoked at {revoked_at:%Y-%m-%d %H:%M:%S} UTC ({reason})")
    warnings.append(
        f"certificate revoked at {revoked_at:%Y-%m-%d %H:%M:%S} UTC ({reason}), after the time "
        f"stamp ({moment:%Y-%m-%d %H:%M:%S} UTC): the signature was made while it was valid "
        "(EN 319 102-1)"
    )


def _authentic_revocation(tp: chain.TrustedPath, trust: TrustStore, revinfo: Revinfo) -> bool:
    """True when pyhanko, validating at the revocation time, reports that very revocation."""
    assert revinfo.revoked is not None
    try:
        chain.validate(tp, trust, revinfo.revoked[0], revinfo.ocsp_responses(), revinfo.crls)
    except CertRevoked:
        return True
    except VerificationError:
        return False
    return False
