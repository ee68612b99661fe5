"""Form binding: the signed data file must be form v1 for this initiative, signer and date.

docs/design.md "Signature form, version 1": rendered from the initiative, the certificate's identity
and the time-stamp date in Europe/Riga, accepting that date or the day before (a signature made
just before midnight may be stamped just after).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from crypto.errors import DocumentMismatch, IdentityMismatch
from crypto.form import RIGA, FormFieldError, SignerFields, render_form
from crypto.policy import Policy
from crypto.verdict import Signer

_IDENTITY_KEYS = ("Vārds", "Uzvārds", "Personas kods")


def riga_date(moment: datetime) -> date:
    return moment.astimezone(RIGA).date()


def _fields(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    fields = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields[key] = value
    return fields


def _identity_differs(data: bytes, signer: Signer) -> bool:
    fields = _fields(data)
    mine = (signer.given_name, signer.surname, signer.personal_code)
    return (
        all(k in fields for k in _IDENTITY_KEYS)
        and tuple(fields[k] for k in _IDENTITY_KEYS) != mine
    )


def check_binding(data: bytes, signer: Signer, moment: datetime, policy: Policy) -> None:
    if policy.expected_form is not None:
        if data != policy.expected_form:
            raise DocumentMismatch("the data file is not the expected form")
        if _identity_differs(data, signer):
            raise IdentityMismatch("the form names a different person than the certificate")
        return
    if policy.initiative is None:
        return
    day = riga_date(moment)
    for signing_date in (day, day - timedelta(days=1)):
        try:
            expected = render_form(
                policy.initiative,
                SignerFields(signer.given_name, signer.surname, signer.personal_code, signing_date),
                policy.form_kind,
            )
        except FormFieldError as exc:
            raise DocumentMismatch(
                f"the certificate identity cannot be put on the form: {exc}"
            ) from exc
        if data == expected:
            return
    if _identity_differs(data, signer) and _is_form_for_someone_else(data, day, policy):
        raise IdentityMismatch("the form names a different person than the certificate")
    raise DocumentMismatch("the data file is not the form for this initiative, signer and date")


def _is_form_for_someone_else(data: bytes, day: date, policy: Policy) -> bool:
    """The data file is exactly this initiative's form, only with another person's identity."""
    assert policy.initiative is not None
    fields = _fields(data)
    for signing_date in (day, day - timedelta(days=1)):
        try:
            other = render_form(
                policy.initiative,
                SignerFields(
                    fields[_IDENTITY_KEYS[0]],
                    fields[_IDENTITY_KEYS[1]],
                    fields[_IDENTITY_KEYS[2]],
                    signing_date,
                ),
                policy.form_kind,
            )
        except FormFieldError:
            return False
        if other == data:
            return True
    return False
