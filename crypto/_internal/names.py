"""A bounded, process-wide memo of RFC 5280 §7.1 name preparation (asn1crypto).

Every comparison or registry lookup of an X.509 Name runs each attribute value through
LDAP string preparation (RFC 4518: stringprep tables, case folding). asn1crypto keeps the result
only on the parsed object, and each request parses its certificates afresh, so the same few
issuer and responder names were prepared again on every verification (~20% of its CPU).
The preparation is a pure function of the value's string, so its result is memoised keyed on
that exact string; the cache is bounded (cleared when full) and needs no lock (a dict get or
set is atomic under the GIL; a lost race only recomputes the same value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asn1crypto import x509

MAX_ENTRIES = 4096

_CACHE: dict[str, str] = {}
_ORIGINAL: Callable[[Any, Any], str] = x509.NameTypeAndValue._ldap_string_prep


def _prepared(self: Any, string: Any) -> str:
    if type(string) is not str:
        return _ORIGINAL(self, string)
    found = _CACHE.get(string)
    if found is None:
        found = _ORIGINAL(self, string)  # raises for prohibited characters: nothing cached
        if len(_CACHE) >= MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[string] = found
    return found


def install() -> None:
    """Idempotent; called on import of crypto._internal.chain."""
    if x509.NameTypeAndValue._ldap_string_prep is not _prepared:
        x509.NameTypeAndValue._ldap_string_prep = _prepared
