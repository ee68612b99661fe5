"""Qualification of the signing certificate (EU 910/2014 Art. 3(12),(15); ETSI EN 319 412-5).

Trusted-list paths use pyHanko's QualificationAssessor (QC statements overridden by the TL
service's qualifiers valid at the signing time); test anchors use the QC statements alone.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509
from pyhanko.sign.validation.qualified.assess import QualificationAssessor
from pyhanko.sign.validation.qualified.q_status import QcPrivateKeyManagementType
from pyhanko.sign.validation.qualified.tsp import QcCertType

from crypto._internal.chain import TrustedPath
from crypto.errors import KeyUsageError, NotQualified
from crypto.trust import CA_QC_URI, TRUSTED_LIST, TrustStore

# RFC 3739 / EN 319 412-5 QC statement OIDs, as asn1crypto names them
QC_STATEMENTS_OID = "1.3.6.1.5.5.7.1.3"


def check_qualified(tp: TrustedPath, trust: TrustStore, moment: datetime) -> None:
    leaf = tp.path.leaf
    assert isinstance(leaf, x509.Certificate)
    if tp.source == TRUSTED_LIST and not trust.granted_services(tp.anchor, moment, CA_QC_URI):
        raise NotQualified("the issuing CA/QC service was not granted at the signing time")
    try:
        if tp.source == TRUSTED_LIST:
            status = (
                QualificationAssessor(trust.registry)
                .check_entity_cert_qualified(tp.path, moment)
                .status
            )
        else:
            status = QualificationAssessor._process_qc_statements(leaf)
    except NotImplementedError as exc:  # several QcTypes: ambiguous, not qualified for us
        raise NotQualified(f"ambiguous QC statements: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise NotQualified(f"unreadable QC statements: {exc}") from exc
    if not status.qualified:
        raise NotQualified("not a qualified certificate (no QcCompliance / TL qualifier)")
    if status.qc_type is not QcCertType.QC_ESIGN:
        raise NotQualified(f"qualified certificate of type {status.qc_type.name}, not esign")
    if status.qc_key_security is QcPrivateKeyManagementType.UNKNOWN:
        raise NotQualified("private key not declared to be on a QSCD")


def check_key_usage(leaf: x509.Certificate) -> None:
    """EN 319 412-2 §4.3.2: certificates for e-signatures carry nonRepudiation."""
    usage = leaf.key_usage_value
    if usage is None or "non_repudiation" not in usage.native:
        raise KeyUsageError("signing certificate lacks the nonRepudiation key usage")
