"""The rate limiter's storage (Redis at city scale) failing must not take the limited routes down.

Flask-Limiter is told to swallow storage errors and count in this process meanwhile
(RATELIMIT_SWALLOW_ERRORS, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED); this module counts the
failures it reports, logs them without the storage's credentials, and answers /healthz's check.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context, render_template, request
from limits.errors import StorageError
from werkzeug.wrappers import Response

from permits.errors import RETRY_AFTER_SECONDS, json_error, status_message
from permits.extensions import limiter
from permits.permissions import is_api_request

log = logging.getLogger(__name__)

#: Flask-Limiter's logger: it warns there when the storage fails and it falls back.
LIMITER_LOGGER = "flask-limiter"


def storage_label(uri: str) -> str:
    """The storage URL without user, password or query (the log and /healthz may show it)."""
    parts = urlsplit(uri)
    hosts = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{hosts}{parts.path}"


class _FailureCounter(logging.Handler):
    """Counts the storage failures Flask-Limiter reports (warnings and errors) in this process."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.failures = 0
        self._count_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        self.count("limits are counted in this process until it answers")

    def count(self, consequence: str) -> None:
        with self._count_lock:
            self.failures += 1
        uri = current_app.config.get("RATELIMIT_STORAGE_URI") if has_app_context() else None
        log.warning("rate-limit storage %s failed; %s", storage_label(str(uri or "")), consequence)


_counter = _FailureCounter()


def init_app(app: Flask) -> None:
    """Binds the limiter and starts counting its storage failures (once per process)."""
    limiter.init_app(app)
    watched = logging.getLogger(LIMITER_LOGGER)
    if _counter not in watched.handlers:
        watched.addHandler(_counter)
    app.register_error_handler(StorageError, storage_unavailable)


def storage_unavailable(exc: StorageError) -> Response | tuple[str, int]:
    """The storage failed outside Flask-Limiter's guard (an admin clearing an account's failed
    log-ins): a 503 to try again, like a database outage, not a 500."""
    _counter.count(f"{request.endpoint} answered 503 ({type(exc.__cause__ or exc).__name__})")
    response: Response
    if is_api_request():
        response = json_error(503)
    else:
        page = render_template("errors/error.html", status=503, message=status_message(503))
        response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def storage_failures() -> int:
    """How many times this process found the rate-limit storage failing (a metric)."""
    return _counter.failures


def storage_status() -> str:
    """ "ok", "unavailable" (limits counted per process meanwhile) or "disabled"."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return "disabled"
    return "ok" if limiter.storage.check() else "unavailable"
