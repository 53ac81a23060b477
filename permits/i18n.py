"""Language choice: the user's saved choice, then this session's, then the browser's."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from permits import catalogues


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


def ensure_catalogues(app: Flask) -> None:
    """Compile a missing or stale .mo at start, saying so: without it the interface is English.

    The package build compiles them (setup.py); this covers a checkout updated without a rebuild.
    """
    for po in catalogues.catalogues(catalogues.TRANSLATIONS):
        if not catalogues.needs_compiling(po):
            continue
        try:
            mo = catalogues.compile_catalogue(po)
        except OSError as exc:
            app.logger.error(
                "translations: %s is missing or older than %s and cannot be compiled here (%s);"
                " that language falls back to English. Rebuild the package (pip install .)"
                " or run: pybabel compile -d %s",
                po.with_suffix(".mo").name,
                po,
                exc,
                catalogues.TRANSLATIONS,
            )
        else:
            app.logger.warning("translations: compiled %s at start (missing or stale)", mo)
