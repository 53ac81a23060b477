"""Request input checked once, at the edge: what no view may ever receive, integers with bounds,
and the local paths a redirect may go to.

A NUL byte reaches PostgreSQL as a driver error (a 500) where SQLite stores it; JSON nested
100,000 deep overflows the parser's stack; a 20-digit integer overflows a column's bind; a line
break in a redirect target breaks the Location header. Each becomes a 400 (or a safe fallback)
here, whatever the view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Request, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from permits import validators
from permits.database import MAX_ROW_ID
from permits.errors import json_error, status_message
from permits.permissions import is_api_request
from permits.services.text import MESSAGES

#: Deepest JSON nesting a request may send (the batch API needs 4: body, list, item, drivers).
MAX_JSON_DEPTH = 32
#: A JSON string, or an unterminated one up to the end: every quote starts a match, so the
#: scan stays linear however the quotes and backslashes are arranged.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
#: What a JSON text needs to carry a control character into a parsed string: an escape, DEL or
#: a C1 character raw (strict parsing refuses raw C0 ones), or NUL bytes (UTF-16 or UTF-32
#: text). Without one there is nothing to walk: the verify hot path's body skips the walk.
_JSON_MAY_CARRY_CONTROL = re.compile(rb"\\|\x00|\x7f|\xc2[\x80-\x9f]")
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _too_deep(raw: bytes) -> bool:
    """Whether the JSON text nests deeper than MAX_JSON_DEPTH, judged before parsing it."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _json_texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every key and string of a parsed JSON document, with the field path it sits at."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            yield inner, str(key)
            yield from _json_texts(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts(item, f"{path}.{index}" if path else str(index))


def _texts(req: Request, walk_json: bool) -> Iterator[tuple[str, str]]:
    """Every text of the request a view may read: path, query, form fields, file names, JSON."""
    for name, value in (req.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    for name, value in req.args.items(multi=True):
        yield name, name
        yield name, value
    if req.mimetype in _FORM_TYPES:
        for name, value in req.form.items(multi=True):
            yield name, name
            yield name, value
        for name, upload in req.files.items(multi=True):
            yield name, upload.filename or ""
    if walk_json:
        parsed = req.get_json(silent=True)
        if parsed is not None:
            yield from _json_texts(parsed, "")


def _refusal(message: str, field: str | None, *, status: int = 400) -> Response:
    if is_api_request():
        return json_error(status, message, {field: message} if field else None)
    page = render_template("errors/error.html", status=status, message=message)
    return Response(page, status=status, mimetype="text/html")


def refuse_unreadable_input() -> Response | None:
    """before_request: a 400 for control characters anywhere and for over-deep JSON (a 413 for
    JSON above MAX_JSON_LENGTH)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    try:
        walk_json = False
        if req.is_json:
            limit = int(current_app.config["MAX_JSON_LENGTH"])
            if (req.content_length or 0) > limit:
                return _refusal(status_message(413), None, status=413)
            raw = req.get_data(cache=True)
            if len(raw) > limit:
                return _refusal(status_message(413), None, status=413)
            if _too_deep(raw):
                return _refusal(_("The JSON is nested too deeply."), None)
            walk_json = _JSON_MAY_CARRY_CONTROL.search(raw) is not None
        control = validators.CONTROL_CHARACTERS.search
        for field, text in _texts(req, walk_json):
            if isinstance(text, str) and control(text):
                return _refusal(str(MESSAGES["control"]), field)
    except RequestEntityTooLarge:
        return None  # the view meets the same 413 and answers it as it does
    return None


def int_arg(
    name: str,
    default: int | None = None,
    *,
    low: int = 0,
    high: int = MAX_ROW_ID,
    args: Mapping[str, str] | None = None,
) -> int | None:
    """An integer query parameter within [low, high] (clamped), or `default` when it is absent
    or not a whole number: a page number or cursor no column can hold never reaches the query.
    `args`: another query than the request's (a page rendered again for a refused form)."""
    raw = (request.args if args is None else args).get(name, "")
    try:
        value = int(raw) if raw.isascii() else None
    except ValueError:
        value = None
    return default if value is None else min(max(value, low), high)


def local_path(target: str | None, fallback: str, *, under: str = "/") -> str:
    """`target` when it is a path of this site under `under`; `fallback` for anything else
    (another host, a scheme, //host, a backslash, a control character or a line break)."""
    path = target or ""
    if (
        not path.startswith(under)
        or path.startswith("//")
        or "\\" in path
        or validators.text_problem(path) is not None
    ):
        return fallback
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return fallback
    return path
