"""The seal PKI of the batch tests lives in certification/sealpki.py (the demo uses it too)."""

from certification.sealpki import NOT_AFTER, NOT_BEFORE, SealPki, make_seal_pki

__all__ = ["NOT_AFTER", "NOT_BEFORE", "SealPki", "make_seal_pki"]
