"""HTTP Strict Transport Security (RFC 6797) on every answer served over HTTPS.

Why: a browser or client that once reached the service over TLS must never be downgraded to
plain HTTP (conformance check C24). Only on HTTPS answers: RFC 6797 §7.2 says HSTS over plain
HTTP is ignored. When a proxy terminates TLS in front of gunicorn, the proxy sets it.
"""

from __future__ import annotations

from flask import Flask, Response, request

HSTS = "max-age=31536000; includeSubDomains"  # one year


def init_app(app: Flask) -> None:
    @app.after_request
    def _hsts(response: Response) -> Response:
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
