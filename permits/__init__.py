"""permits: work-resumption permits and vehicle passes, approved step by step, verified by QR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from permits import audit, database, inputs, outcome, ratelimit, scan_log, security
from permits.cli import register_commands
from permits.config import load_config
from permits.errors import register_error_handlers
from permits.extensions import babel, csrf, db, login_manager, migrate
from permits.i18n import ensure_catalogues, select_locale
from permits.login import CookieSessions, end_stale_session, init_login, judge_api_credentials
from permits.permissions import must_change_password_block, require_login
from permits.templating import register_template_helpers

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Config → extensions → request hooks → blueprints → CLI → error handlers. Wiring only."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    load_config(app, test_config)
    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    app.url_map.converters["int"] = database.RowIdConverter
    app.before_request(database.mark_write_intent)
    app.before_request(inputs.refuse_unreadable_input)
    app.teardown_request(database.reset_write_intent)
    db.init_app(app)
    scan_log.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.session_interface = CookieSessions()
    login_manager.init_app(app)
    init_login(login_manager)
    csrf.init_app(app)
    ensure_catalogues(app)
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"]
    )
    ratelimit.init_app(app)

    app.before_request(audit.remember_client)
    app.before_request(judge_api_credentials)
    app.before_request(end_stale_session)
    app.before_request(require_login)
    app.before_request(must_change_password_block)
    outcome.init_app(app)
    app.after_request(security.add_headers)

    from permits.views import (
        account,
        admin,
        api,
        applications,
        auth,
        bulk,
        checkpoint,
        demands,
        main,
        passes,
        review,
    )

    for blueprint in (
        main.bp,
        auth.bp,
        account.bp,
        applications.bp,
        bulk.bp,
        applications.notifications_bp,
        review.bp,
        demands.bp,
        passes.bp,
        checkpoint.bp,
        admin.bp,
        api.bp,
    ):
        app.register_blueprint(blueprint)

    register_template_helpers(app)
    register_commands(app)
    register_error_handlers(app)
    return app
