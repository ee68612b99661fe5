"""`Refusal`: the service declines a request, for one reason named by a code.

Domain code (registry, intake, export) raises it without knowing who asked: the web layer maps
the code to an HTTP status and the JSON error shape (sigsvc/web/errors.py), the CLI prints it and
exits 1. Codes are the API's stable error vocabulary (web/errors.ERROR_CODES lists them all,
with the verification reasons of crypto.Reason among them); messages are for humans and never
carry submitted values, which may be personal data.
"""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, code: str, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, when asking again later can succeed
