"""Response headers every answer carries, and the per-request nonce of the page's scripts."""

from __future__ import annotations

import secrets

from flask import current_app, g, request
from werkzeug.wrappers import Response

#: HSTS for two years once the service is served over HTTPS (PERMITS_HTTPS=1).
HSTS = "max-age=63072000; includeSubDomains"


def csp_nonce() -> str:
    """The nonce of this request; an inline <script> runs only with nonce="{{ csp_nonce() }}"."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def content_security_policy(nonce: str) -> str:
    """Only this site's own files run; nothing frames, embeds or re-targets the pages.

    The checkpoint scanner needs: its module scripts and the jsQR worker (script-src, worker-src
    'self'), the service worker and the manifest (worker-src, manifest-src 'self'), the camera
    stream in a <video> (media-src mediastream: blob:), camera frames drawn as images (img-src
    data: blob:), and the API (connect-src 'self'). No template has a style attribute, so styles
    need no 'unsafe-inline' either.
    """
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "worker-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


#: Pages, and the service worker (whose own fetches obey the policy its script came with).
PAGE_TYPES = frozenset({"text/html", "application/javascript", "text/javascript"})

#: For JSON answers: opened directly in a browser, they run nothing and load nothing.
NON_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def add_headers(response: Response) -> Response:
    """after_request: no sniffing, no framing, no caching of pages that may hold personal data."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Keeps Flask-WTF's same-origin Referer check working over HTTPS (no-referrer would break it).
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.endpoint != "static" and response.mimetype in PAGE_TYPES:
        response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    elif response.mimetype == "application/json":
        response.headers.setdefault("Content-Security-Policy", NON_PAGE_POLICY)
    if current_app.config["HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
