"""certomancer extension plugins the test PKI needs (named in pki.yml's ``plugin-modules``).

- ``qc-statements``: QCStatements (RFC 3739 §3.2.6, ETSI EN 319 412-5); asn1crypto has no types
  for it, so the DER is built here and the YAML says which statements a certificate carries.
- ``crl-dp-urls``: a CRL distribution point with fixed URLs (e.g. the dead "responder down" port).
"""

from __future__ import annotations

from typing import Any

from asn1crypto import core, x509
from certomancer.config_utils import ConfigurationError
from certomancer.registry import ExtensionPlugin, extension_plugin_registry

OID_QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"  # RFC 3739 id-pe-qcStatements
OID_QC_COMPLIANCE = "0.4.0.1862.1.1"  # EN 319 412-5 esi4-qcStatement-1
OID_QC_SSCD = "0.4.0.1862.1.4"  # esi4-qcStatement-4
OID_QC_PDS = "0.4.0.1862.1.5"  # esi4-qcStatement-5
OID_QC_TYPE = "0.4.0.1862.1.6"  # esi4-qcStatement-6
QC_TYPES = {
    "esign": "0.4.0.1862.1.6.1",
    "eseal": "0.4.0.1862.1.6.2",
    "web": "0.4.0.1862.1.6.3",
}
OID_QCS_SEMANTICS_V2 = "1.3.6.1.5.5.7.11.2"  # RFC 3739 id-qcs-pkixQCSyntax-v2
OID_SEMANTICS_NATURAL = "0.4.0.194121.1.1"  # EN 319 412-1 id-etsi-qcs-semanticsId-Natural


class QcStatement(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012  (asn1crypto's declarative style)
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class QcStatements(core.SequenceOf):  # type: ignore[misc]
    _child_spec = QcStatement


class _OidList(core.SequenceOf):  # type: ignore[misc]
    _child_spec = core.ObjectIdentifier


class _SemanticsInformation(core.Sequence):  # type: ignore[misc]
    _fields = [("semantics_identifier", core.ObjectIdentifier)]  # noqa: RUF012


class _PdsLocation(core.Sequence):  # type: ignore[misc]
    _fields = [("url", core.IA5String), ("language", core.PrintableString)]  # noqa: RUF012


class _PdsLocations(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _PdsLocation


def build_qc_statements(params: dict[str, Any]) -> bytes:
    """DER of QCStatements in the order Latvian eID certificates use them."""
    statements: list[dict[str, Any]] = []
    if params.get("compliance"):
        statements.append({"statement_id": OID_QC_COMPLIANCE})
    if params.get("sscd"):
        statements.append({"statement_id": OID_QC_SSCD})
    if "type" in params:
        oids = _OidList([QC_TYPES[params["type"]]])
        statements.append({"statement_id": OID_QC_TYPE, "statement_info": oids})
    if params.get("semantics") == "natural":
        info = _SemanticsInformation({"semantics_identifier": OID_SEMANTICS_NATURAL})
        statements.append({"statement_id": OID_QCS_SEMANTICS_V2, "statement_info": info})
    if "pds" in params:
        locations = _PdsLocations([{"url": p["url"], "language": p["lang"]} for p in params["pds"]])
        statements.append({"statement_id": OID_QC_PDS, "statement_info": locations})
    return bytes(QcStatements(statements).dump())


@extension_plugin_registry.register
class QcStatementsPlugin(ExtensionPlugin):
    schema_label = "qc-statements"
    extension_type = None

    def provision(self, extn_id: Any, arch: Any, params: Any) -> core.ParsableOctetString:
        if not isinstance(params, dict):
            raise ConfigurationError("qc-statements params must be a mapping")
        return core.ParsableOctetString(build_qc_statements(params))


@extension_plugin_registry.register
class CrlDpUrlsPlugin(ExtensionPlugin):
    schema_label = "crl-dp-urls"
    extension_type = None

    def provision(self, extn_id: Any, arch: Any, params: Any) -> x509.CRLDistributionPoints:
        if not isinstance(params, list) or not all(isinstance(u, str) for u in params):
            raise ConfigurationError("crl-dp-urls params must be a list of URLs")
        names = [x509.GeneralName(name="uniform_resource_identifier", value=u) for u in params]
        return x509.CRLDistributionPoints([{"distribution_point": {"full_name": names}}])
