"""Error answers: JSON under /api (never an HTML page), friendly pages elsewhere, 5xx logged."""

from __future__ import annotations

import logging
import math
import sqlite3
import time

import psycopg
from flask import Flask, current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from permits import fastpaths
from permits.extensions import db, limiter
from permits.permissions import is_api_request
from permits.services.errors import DomainError

log = logging.getLogger(__name__)

#: Stable machine-readable codes for the statuses we answer with.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
    507: "insufficient_storage",
}

#: Seconds a client is asked to wait while the database is unreachable.
RETRY_AFTER_SECONDS = 30


def _message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You do not have permission to do this."),
        404: _("There is nothing here."),
        405: _("This action is not allowed here."),
        409: _("This has changed in the meantime."),
        413: _("The upload is too large."),
        415: _("This type of content is not accepted."),
        422: _("Some fields need your attention."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. It has been logged; please try again."),
        503: _("The service is briefly unavailable. Please try again in a minute."),
        507: _("The server could not store this. It has been logged; please try again later."),
    }
    return str(messages.get(status, _("The request could not be completed.")))


def limit_wait_seconds() -> int | None:
    """Seconds until the rate limit this request broke lets the next attempt through."""
    current = limiter.current_limit
    if current is None or not current.breached:
        return None
    return max(1, math.ceil(current.window[0] - time.time()))


def try_again_message(seconds: int) -> str:
    """Too many attempts, and in how many minutes the next one is let through."""
    minutes = max(1, math.ceil(seconds / 60))
    return str(
        ngettext(
            "Too many attempts. Please try again in %(num)d minute.",
            "Too many attempts. Please try again in %(num)d minutes.",
            minutes,
        )
    )


def rate_limited(seconds: int) -> Response:
    """The 429 answer (page or JSON) that says when to try again, with Retry-After."""
    message = try_again_message(seconds)
    response: Response
    if is_api_request():
        response = json_error(429, message)
    else:
        page = render_template("errors/429.html", status=429, message=message)
        response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def status_message(status: int) -> str:
    """The standard message of an error status, in the reader's language."""
    return _message(status)


def json_error(
    status: int,
    message: str | None = None,
    fields: dict[str, str] | None = None,
    code: str | None = None,
) -> Response:
    body = {
        "error": code or ERROR_CODES.get(status, "error"),
        "message": message or _message(status),
        "fields": fields or {},
    }
    response = jsonify(body)
    response.status_code = status
    return response


def handle_http_exception(exc: HTTPException) -> Response | tuple[str, int]:
    original = exc.original_exception if isinstance(exc, InternalServerError) else None
    if original is not None and is_database_outage(original):
        # Raised where no handler of ours is asked first (the commit in after_request).
        return handle_database_error(original)
    status = exc.code or 500
    wait = limit_wait_seconds() if status == 429 else None
    if wait is not None:
        return rate_limited(wait)
    if is_api_request():
        # Keep a specific description (e.g. the CSRF reason) but not werkzeug's generic prose.
        default = type(exc).description
        message = exc.description if exc.description and exc.description != default else None
        response = json_error(status, message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="permits"'
        for name in ("Retry-After", "Allow"):
            if exc.get_response().headers.get(name):
                response.headers[name] = exc.get_response().headers[name]
        return response
    if status == 413:
        return too_large_page(), status
    if isinstance(exc, CSRFError):
        return render_template(
            "errors/error.html",
            status=status,
            message=_("The form had expired. Please submit it again."),
            hint=_("Open the page again, then send the form once more."),
            back=way_back(),
        ), status
    template = f"errors/{status}.html" if status in (403, 404, 429) else "errors/error.html"
    return render_template(template, status=status, message=_message(status)), status


#: The page (and its part) of each form whose own address has no page, for the way back after
#: a refusal of the whole request (too large, expired).
FORM_PAGES = {
    "applications.upload": ("applications.edit", "#files"),
    "applications.submit": ("applications.show", ""),
    "applications.withdraw": ("applications.show", "#withdraw"),
    "review.decide": ("applications.show", "#decide"),
    "review.decide_many": ("review.queue", ""),
    "passes.revoke": ("passes.show", "#revoke"),
}


def way_back() -> str | None:
    """The page the refused request was sent from, worked out from the request's own route
    (never from the Referer, so never another site): the page at the same address, or the one
    named in FORM_PAGES."""
    if request.endpoint in FORM_PAGES:
        page, anchor = FORM_PAGES[request.endpoint]
        return url_for(page, **(request.view_args or {})) + anchor
    try:
        endpoint, values = current_app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:
        return None
    return None if endpoint == "static" else url_for(endpoint, **values)


def too_large_page() -> str:
    """413: how much may be sent (from MAX_CONTENT_LENGTH, in MB) and a way back to the form."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit:
        megabytes = limit / (1024 * 1024)
        shown = f"{megabytes:.0f}" if megabytes >= 10 else f"{megabytes:.2g}"
        message = _("The upload is too large: at most %(mb)s MB can be sent at once.", mb=shown)
    else:
        message = _message(413)
    return render_template(
        "errors/error.html",
        status=413,
        message=message,
        hint=_("Make the file smaller (for example scan at a lower resolution) and try again."),
        back=way_back(),
    )


def handle_domain_error(exc: DomainError) -> Response | tuple[str, int]:
    """A refusal that escaped a view: answer with its status rather than a 500."""
    db.session.rollback()
    fields = {k: str(v) for k, v in exc.fields.items()}
    if is_api_request():
        return json_error(exc.status, str(exc.message), fields, code=exc.code)
    return render_template(
        "errors/error.html", status=exc.status, message=str(exc.message)
    ), exc.status


#: The drivers' own errors for a database that cannot be reached, raised unwrapped where the
#: code talks to the driver directly (the verifier's register read).
DRIVER_OUTAGES = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def is_database_outage(exc: BaseException | None) -> bool:
    """The database cannot be reached or dropped the connection (not a bug in a query)."""
    if isinstance(exc, (OperationalError, InterfaceError, *DRIVER_OUTAGES)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _roll_back_quietly() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()  # the connection is gone; the next request gets a fresh one


def handle_database_error(exc: BaseException) -> Response | tuple[str, int]:
    """A 503 while the database is down; the next request reconnects (pool_pre_ping)."""
    if not is_database_outage(exc):
        assert isinstance(exc, Exception)
        return handle_unexpected(exc)
    _roll_back_quietly()
    driver_error = getattr(exc, "orig", None) or exc
    sqlstate = getattr(driver_error, "sqlstate", None)
    # One line, no SQL and no parameters (they may hold personal data), no path (share links).
    log.error(
        "database unavailable on %s %s: %s%s",
        request.method,
        request.endpoint,
        type(driver_error).__name__,
        f" (sqlstate {sqlstate})" if sqlstate else "",
    )
    # The answer must not ask the database who is logged in (its language, the page's header).
    fastpaths.set_request_user(None)
    response: Response
    if is_api_request():
        response = json_error(503)
    else:
        response = make_response(
            render_template("errors/error.html", status=503, message=_message(503)), 503
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_unexpected(exc: Exception) -> Response | tuple[str, int]:
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    for driver_error in DRIVER_OUTAGES:
        app.register_error_handler(driver_error, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
