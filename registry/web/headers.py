"""Security headers on every response."""

from __future__ import annotations

from flask import g, request

from registry.runtime import current_runtime

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def apply_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("X-Frame-Options", "DENY")
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    headers["X-Request-Id"] = g.get("request_id", "")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"  # pages and files hold personal data: never cached
    if current_runtime().settings.production:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response
