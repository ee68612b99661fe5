"""The signer's identity from the certificate subject (EN 319 412-1 §5.1.3, natural persons)."""

from __future__ import annotations

import hashlib

from asn1crypto import x509

from crypto.errors import InvalidPersonalCode
from crypto.personal_code import parse_personal_code
from crypto.verdict import Signer


def _attr(cert: x509.Certificate, name: str) -> str | None:
    values = [
        rdn_attr["value"].native
        for rdn in cert.subject.chosen
        for rdn_attr in rdn
        if rdn_attr["type"].native == name
    ]
    if not values:
        return None
    return " ".join(str(v) for v in values)


def signer_from_certificate(cert: x509.Certificate, der: bytes) -> Signer:
    serial = _attr(cert, "serial_number")
    given = _attr(cert, "given_name")
    surname = _attr(cert, "surname")
    if serial is None:
        raise InvalidPersonalCode("certificate subject has no serialNumber")
    if not given or not surname:
        raise InvalidPersonalCode("certificate subject lacks givenName or surname")
    code = parse_personal_code(serial)
    if code.bare and _attr(cert, "country_name") != "LV":
        raise InvalidPersonalCode(
            "the serialNumber has no PNOLV- semantics identifier and the subject's country "
            "is not LV"
        )
    return Signer(
        given_name=given,
        surname=surname,
        personal_code=code.code,
        birth_date=code.birth_date,
        serial_number=serial,
        certificate_sha256=hashlib.sha256(der).hexdigest(),
        legacy_code=code.bare,
    )
