"""The fixed test clock: nothing in the test PKI or its tests reads today's date."""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = [
    "LEGACY_CA_WITHDRAWN",
    "PERIOD_END",
    "PERIOD_START",
    "RESPONDER_TIME",
    "REVOKED_AT",
    "SIGNING_DATE",
    "SIGNING_TIME",
    "TIMESTAMP_TIME",
    "TL_ISSUED",
    "TL_NEXT_UPDATE",
    "UTC",
]

# Every signer's certificate (except expired / not_yet_valid) is valid over this period.
PERIOD_START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD_END = datetime(2030, 1, 1, tzinfo=UTC)

# Default SigningTime of test signatures; their time stamp is 5 s later (TIMESTAMP_TIME).
SIGNING_TIME = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
TIMESTAMP_TIME = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
# The responders answer "as of" this instant (OCSP producedAt/thisUpdate, CRL, TSA genTime)
# unless a request carries the X-Certomancer-Fake-Time header (see responders.py): 10 s after
# SIGNING_TIME, so a live OCSP fetch is just after the signature's time stamp.
RESPONDER_TIME = datetime(2026, 3, 2, 10, 0, 10, tzinfo=UTC)
SIGNING_DATE = date(2026, 3, 2)  # SIGNING_TIME's calendar date in Europe/Riga (12:00 EET)

# When the `revoked` signer's certificate was revoked (before SIGNING_TIME).
REVOKED_AT = datetime(2025, 6, 1, tzinfo=UTC)

# Trusted list: issue date, next update, and when the legacy CA service was withdrawn.
TL_ISSUED = datetime(2025, 12, 1, tzinfo=UTC)
TL_NEXT_UPDATE = datetime(2026, 6, 1, tzinfo=UTC)
LEGACY_CA_WITHDRAWN = datetime(2025, 9, 1, tzinfo=UTC)
