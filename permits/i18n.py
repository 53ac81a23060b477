"""Language choice: the user's saved choice, then this session's, then the browser's."""

from __future__ import annotations

from functools import lru_cache

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    default = str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if not has_request_context():
        return default
    user = current_user._get_current_object()
    if user.is_authenticated and user.locale in languages:
        return str(user.locale)
    if session.get("lang") in languages:
        return str(session["lang"])
    header = request.headers.get("Accept-Language")
    return (header and _best_match(header, tuple(languages))) or default


@lru_cache(maxsize=256)
def _best_match(header: str, languages: tuple[str, ...]) -> str | None:
    """Browsers send one of a few Accept-Language values: each is parsed once per process."""
    return parse_accept_header(header, LanguageAccept).best_match(languages)


def current_locale_name() -> str:
    """ "zh" or "en", for choosing between the two names of a division and the like."""
    locale = get_locale()
    return locale.language if locale is not None else "zh"


def html_lang() -> str:
    return "zh-CN" if current_locale_name() == "zh" else "en"
