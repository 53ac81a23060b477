"""Language choice: the user's saved choice, then this session's, then the browser's."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    if session.get("lang") in languages:
        return str(session["lang"])
    best = request.accept_languages.best_match(languages)
    return best or str(current_app.config["BABEL_DEFAULT_LOCALE"])


def current_locale_name() -> str:
    """ "zh" or "en", for choosing between the two names of a division and the like."""
    locale = get_locale()
    return locale.language if locale is not None else "zh"


def html_lang() -> str:
    return "zh-CN" if current_locale_name() == "zh" else "en"
