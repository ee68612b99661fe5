"""Signature intake: `submit` one form, the transaction, idempotency, rate limits, pseudonyms,
encryption of personal data, the revocation fetcher."""
