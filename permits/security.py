"""Response headers every answer carries."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response


def add_headers(response: Response) -> Response:
    """after_request: no sniffing, no framing, no caching of pages that may hold personal data."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Keeps Flask-WTF's same-origin Referer check working over HTTPS (no-referrer would break it).
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
