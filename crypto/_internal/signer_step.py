"""Where a certificate path splits into the shared part above the signer and the signer's step.

RFC 5280 §6.1 processes a path from the trust anchor down. Everything up to and including the
signer's issuer depends only on those certificates, the trust material and the validation
moment; the last step (§6.1.3 for the signer's certificate, with its revocation, and §6.1.5)
receives from above only a state: the working public key and issuer name, the permitted and
excluded name subtrees, the valid policy tree with its explicit-policy / policy-mapping /
inhibit-anyPolicy counters, and the maximum path length. crypto._internal.chain validates the
part above once per (certificates, trust version, validity window) and shares the success
(crypto._internal.shared); per request it runs pyhanko-certvalidator on a one-link path whose
trust anchor is the already validated issuer, which starts the last step from that anchor's
initial state. The split is used only where that initial state gives the same last step as the
state the whole path would have handed down:

- the anchor carries no qualifiers (name or policy parameters, path length, validity of its
  own): trust anchors are built from bare certificates (crypto.trust);
- no certificate above the signer has name constraints, policy constraints, policy mappings or
  inhibitAnyPolicy, and the signer's certificate has no policy constraints. Then the subtrees
  stay "everything permitted, nothing excluded", and the explicit-policy counter stays above 0
  down to the signer, so certificate policies never fail the path (they only shape the policy
  set pyhanko leaves on the path object, which nothing here reads: qualification reads the
  certificate's own policies and QC statements);
- the issuer's key is not a DSA key (whose parameters §6.1.4 (f) would inherit from above);
- the request's revocation data cannot speak about a certificate above the signer: none of
  them names an OCSP responder, and none names CRL distribution points while the request
  carries CRLs. pyhanko-certvalidator checks an intermediate's revocation only where the
  certificate declares where to find it (`intermediate_ca_cert_rule` CHECK_IF_DECLARED_SOFT),
  so under this condition the part above has the same outcome for every request. (At intake a
  fetcher brings the issuing CA's CRLs into every request: such paths are validated whole.)

What §6.1.4 does for the issuer in the whole path and not in the part above (there the issuer is
the last certificate) is checked here as pyhanko does it (`may_issue`: cA, path length,
keyCertSign); the part above checks the issuer's revocation with the intermediates' rule.
`split` checks the conditions that depend on the request (anchor, the signer's certificate,
the request's CRLs), `hands_down_initial_state` those that depend only on the certificates
above, once, with the shared part above.

The split only ever accepts. Whenever the part above or the signer's step fails, the caller
validates the whole path as before and reports what that says, so every reject, its reason and
its message are the whole path's (tests/crypto/test_shared_checks.py compares cold and warm
verdicts byte for byte).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from asn1crypto import x509
from pyhanko_certvalidator.authority import AuthorityWithCert, CertTrustAnchor
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.util import get_declared_revinfo

from crypto._internal import shared


@dataclass(frozen=True)
class Split:
    above: ValidationPath  # the anchor down to the issuer, the issuer as its last certificate
    above_policy: CertRevTrustPolicy  # the issuer's revocation checked as an intermediate's
    above_key: tuple[bytes, ...]  # SHA-256 of the anchor's and every certificate's above
    signer: ValidationPath  # the issuer as trust anchor, the signer's certificate

    def window(self) -> shared.Window:
        """Where every certificate above is valid (pyhanko checks all but the anchor's)."""
        return shared.validity(*self.above.iter_certs(include_root=False))


def split(path: ValidationPath, policy: CertRevTrustPolicy, crls: list[bytes]) -> Split | None:
    """The two parts of `path`, or None where this request's part of the conditions (module
    docstring) does not hold; `hands_down_initial_state` is the certificates' part, checked
    once with the shared part above."""
    leaf = path.leaf
    if path.pkix_len < 2 or not isinstance(leaf, x509.Certificate):
        return None
    anchor = path.trust_anchor
    quals = anchor.trust_qualifiers
    if not isinstance(anchor.authority, AuthorityWithCert) or (
        quals.standard_parameters is not None
        or quals.max_path_length is not None
        or quals.max_aa_path_length is not None
        or quals.valid_from is not None
        or quals.valid_until is not None
    ):
        return None
    if leaf.policy_constraints_value is not None:
        return None
    above = list(path.iter_certs(include_root=False))[:-1]
    rule = policy.revocation_checking_policy.intermediate_ca_cert_rule
    if rule.ocsp_relevant or rule.crl_relevant:
        for cert in above:
            has_crl, has_ocsp = get_declared_revinfo(cert)
            if has_ocsp or (has_crl and crls):
                return None
    return Split(
        above=path.copy_and_drop_leaf(),
        above_policy=replace(
            policy, revocation_checking_policy=RevocationCheckingPolicy(rule, rule)
        ),
        above_key=tuple(bytes(c.sha256) for c in (anchor.authority.certificate, *above)),
        signer=ValidationPath(CertTrustAnchor(above[-1]), [], leaf),
    )


def hands_down_initial_state(above: ValidationPath) -> bool:
    """The certificates' part of the conditions, for the part `above` the signer (anchor down
    to the issuer): nothing in it changes the state RFC 5280 hands down from the anchor's
    initial one, and every certificate in it may issue the next."""
    anchor = above.trust_anchor.authority
    assert isinstance(anchor, AuthorityWithCert)
    certs = list(above.iter_certs(include_root=False))
    issuer = certs[-1]
    if issuer.public_key.algorithm == "dsa":
        return False
    if any(c.subject == issuer.subject for c in (anchor.certificate, *certs[:-1])):
        return False  # the whole path might take another certificate for the signer's issuer
    return may_issue(certs, above.pkix_len + 1) and not any(
        cert.name_constraints_value is not None
        or cert.policy_constraints_value is not None
        or cert.policy_mappings_value is not None
        or cert.inhibit_any_policy_value is not None
        for cert in certs
    )


def may_issue(certs: list[x509.Certificate], path_length: int) -> bool:
    """RFC 5280 §6.1.4 (k)-(n) for `certs`, the certificates between the anchor and the signer
    of a path of `path_length`, as pyhanko-certvalidator applies them (anchor without
    qualifiers)."""
    max_path_length = path_length
    for cert in certs:
        if not cert.ca:  # (k)
            return False
        if not cert.self_issued:  # (l)
            if max_path_length == 0:
                return False
            max_path_length -= 1
        if cert.max_path_length is not None and cert.max_path_length < max_path_length:  # (m)
            max_path_length = cert.max_path_length
        usage = cert.key_usage_value  # (n)
        if usage and "key_cert_sign" not in usage.native:
            return False
    return True
