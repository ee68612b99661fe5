"""Qualification of the signing certificate (EU 910/2014 Art. 3(12),(15); ETSI EN 319 412-5).

Trusted-list paths use pyHanko's QualificationAssessor (QC statements overridden by the TL
service's qualifiers valid at the signing time); test anchors use the QC statements alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from asn1crypto import x509
from pyhanko.sign.validation.qualified.assess import QualificationAssessor
from pyhanko.sign.validation.qualified.q_status import (
    QcPrivateKeyManagementType,
    QualifiedStatus,
)
from pyhanko.sign.validation.qualified.tsp import QcCertType, QualifiedServiceInformation
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.path import ValidationPath

from crypto._internal.chain import TrustedPath
from crypto.errors import KeyUsageError, NotQualified
from crypto.trust import CA_QC_URI, TRUSTED_LIST, TrustStore

# RFC 3739 / EN 319 412-5 QC statement OIDs, as asn1crypto names them
QC_STATEMENTS_OID = "1.3.6.1.5.5.7.1.3"


def check_qualified(tp: TrustedPath, trust: TrustStore, moment: datetime) -> None:
    """Qualified at the certificate's issuance and at the signing time (ETSI TS 119 615 §4.3,
    EN 319 102-1; as DSS): the CA/QC service granted at both, with the TL qualifiers in force
    at each."""
    leaf = tp.path.leaf
    assert isinstance(leaf, x509.Certificate)
    if tp.source != TRUSTED_LIST:
        _check_status(_qc_statements(leaf), "")
        return
    for when, label in ((leaf.not_valid_before, "issuance"), (moment, "the signing time")):
        if not trust.granted_services(tp.anchor, when, CA_QC_URI):
            raise NotQualified(f"the issuing CA/QC service was not granted at {label}")
        try:
            assessor = QualificationAssessor(_StoreRegistry(trust))  # type: ignore[arg-type]
            status = assessor.check_entity_cert_qualified(tp.path, when).status
        except NotImplementedError as exc:  # several QcTypes: ambiguous, not qualified for us
            raise NotQualified(f"ambiguous QC statements: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise NotQualified(f"unreadable QC statements: {exc}") from exc
        _check_status(status, f" at {label}")


class _StoreRegistry:
    """What QualificationAssessor asks of pyHanko's TSPRegistry (`applicable_tsps_on_path`),
    answered the same way from each authority's service definitions as the store looked them
    up once (the registry hashes the authority's names on every lookup): the same definitions
    in the same order, filtered by `moment` with the registry's own rule."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

    def applicable_tsps_on_path(
        self, path: ValidationPath, moment: datetime | None
    ) -> Iterator[QualifiedServiceInformation]:
        for authority in path.iter_authorities():
            if isinstance(authority, AuthorityWithCert):
                definitions: Iterable[QualifiedServiceInformation] = (
                    self._trust.service_definitions(authority.certificate)
                )
            else:
                definitions = self._trust.registry.applicable_service_definitions(authority, None)
            for sd in definitions:
                valid_from, valid_until = sd.base_info.valid_from, sd.base_info.valid_until
                if not moment or (
                    valid_from <= moment and (not valid_until or valid_until >= moment)
                ):
                    yield sd


def _qc_statements(leaf: x509.Certificate) -> QualifiedStatus:
    try:
        return QualificationAssessor._process_qc_statements(leaf)
    except NotImplementedError as exc:
        raise NotQualified(f"ambiguous QC statements: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise NotQualified(f"unreadable QC statements: {exc}") from exc


def _check_status(status: QualifiedStatus, at: str) -> None:
    if not status.qualified:
        raise NotQualified(f"not a qualified certificate{at} (no QcCompliance / TL qualifier)")
    if status.qc_type is not QcCertType.QC_ESIGN:
        raise NotQualified(f"qualified certificate of type {status.qc_type.name}{at}, not esign")
    if status.qc_key_security is QcPrivateKeyManagementType.UNKNOWN:
        raise NotQualified(f"private key not declared to be on a QSCD{at}")


def check_key_usage(leaf: x509.Certificate) -> None:
    """EN 319 412-2 §4.3.2: certificates for e-signatures carry nonRepudiation."""
    usage = leaf.key_usage_value
    if usage is None or "non_repudiation" not in usage.native:
        raise KeyUsageError("signing certificate lacks the nonRepudiation key usage")
