"""Security headers on every response of the app (pages and API alike).

The CSP allows nothing inline and nothing from elsewhere: scripts, styles and images come from
this origin's /static/ only, fetch() only back to this origin, no frames either way.
HSTS is sigsvc.web.transport's (over HTTPS; a TLS-terminating proxy sets it itself).
`behind_tls()` decides the console cookie's Secure flag: TLS here, or at a proxy that says
so in X-Forwarded-Proto (a forged header only makes the cookie stricter).
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Never cross-origin; same-origin keeps the Origin header the console checks (CSRF).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def behind_tls() -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
