"""Configuration in one load order: defaults → instance/config.py → PERMITS_* env → test config."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask

#: Marks the built-in development key; the app refuses to serve with it outside debug/testing.
DEV_SECRET_KEY = "dev-only-insecure-key"  # noqa: S105 - a marker, refused in production

#: File in the instance folder that `make run` fills with a random key on first start.
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name


class Defaults:
    """Safe defaults; every one can be overridden by instance/config.py or a PERMITS_* variable."""

    SECRET_KEY = DEV_SECRET_KEY
    #: SQLAlchemy URL; empty means SQLite in the instance folder.
    DATABASE_URL = ""
    #: A read replica of DATABASE_URL for the verify hot read and the dashboard's figures;
    #: empty reads everything from the primary. A revocation reaches checkpoints after the
    #: replica's lag (see docs/deployment.md).
    READ_DATABASE_URL = ""
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}

    TIMEZONE = "Asia/Shanghai"
    #: The administrative division code of the city the service runs for.
    CITY_CODE = "310000"

    LANGUAGES = ("zh", "en")
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"

    PASSWORD_MIN_LENGTH = 10
    #: Two-person rule: an administrator account whose password another administrator set
    #: (creation or reset) cannot confirm that administrator's requests for this many days.
    ADMIN_HANDOVER_DAYS = 7

    #: Sessions are short-lived and revocable (see accounts.User.get_id): one ends this long
    #: after its log-in, however busy it is.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    #: A session unused for this many minutes ends (any request with its cookie counts as use).
    SESSION_IDLE_MINUTES = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=0)
    #: Served over HTTPS: Secure, __Host- cookies.
    HTTPS = False
    #: Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    PROXY_COUNT = 0

    #: Uploads are refused above this size with a 413.
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    #: A JSON body is refused above this size with a 413 before it is parsed (500 vehicle
    #: applications take about 300 KB).
    MAX_JSON_LENGTH = 2 * 1024 * 1024

    WTF_CSRF_TIME_LIMIT = 3600 * 12

    #: Longest validity of a permit or pass, in days (valid_until counts as a whole day).
    MAX_VALIDITY_DAYS = 30
    #: Drivers per vehicle pass.
    MAX_DRIVERS = 3
    #: Where attachments are stored (outside static/); empty means instance/uploads.
    UPLOAD_DIR = ""
    #: Vehicles per uploaded spreadsheet; a longer file is refused with a message (the whole
    #: file is checked and stored in one request: see docs/performance.md for the time it takes).
    BULK_MAX_ROWS = 5000
    #: Seconds reading one uploaded spreadsheet may take before it is refused (see
    #: permits/spreadsheets.py for the other bounds, which are fixed).
    SPREADSHEET_READ_SECONDS = 15

    #: Where the signing keys live (mode 0600); empty means instance/keys.
    KEYS_DIR = ""
    #: How long one key signs: a pass never outlives its key; a new key is made when needed.
    KEY_LIFETIME_DAYS = 400
    #: The iss claim of passes; empty means "CN-" and CITY_CODE.
    PASS_ISSUER = ""
    #: A TrueType font with Chinese glyphs for the PDFs; empty means the installed default.
    PDF_FONT = ""
    #: How long a driver's share link to an e-pass works (never beyond the pass's validity).
    SHARE_LINK_DAYS = 7

    #: Scans of one pass within an hour beyond which the verdict warns (amber).
    SCANS_PER_HOUR_LIMIT = 6
    #: Faster than this between two checkpoints, a pass is probably copied.
    MAX_PLAUSIBLE_SPEED_KMH = 150
    #: An offline scanner whose revocation list is older than this shows amber, not green.
    REVOCATIONS_MAX_AGE_HOURS = 6
    #: Verifications allowed per user and per client address (a busy checkpoint stays below).
    VERIFY_LIMIT = "240 per minute"
    #: Seconds each worker remembers the owner of an API token used for verification, saving a
    #: query per scan; a token revoked on another worker stops verifying within this time.
    API_TOKEN_CACHE_SECONDS = 10
    #: Each worker writes its scan events in batches this often (milliseconds); 0 writes each
    #: one inside its request. A scan is listed within this time, and a worker killed outright
    #: loses at most this long's scans.
    SCAN_LOG_FLUSH_MS = 200

    #: The dashboard and GET /api/v1/stats serve the figures computed at most this many seconds
    #: ago (a snapshot; `flask supervision refresh` renews it from a timer); older, the first
    #: request to notice recomputes them (about a second at a city's scale) while the others
    #: keep serving the older ones. 0 recomputes them for every request.
    SUPERVISION_MAX_AGE_SECONDS = 60

    #: Demand tickets: accepted within this many working hours, on these weekdays (0 is
    #: Monday; "0123456" when the departments work every day, as in a lockdown), from 9:00 to
    #: 18:00 in TIMEZONE; answered within DEMAND_ANSWER_DAYS of acceptance; an answer the
    #: enterprise leaves unconfirmed closes itself after DEMAND_CONFIRM_DAYS.
    DEMAND_ACCEPT_HOURS = 4
    DEMAND_WORKING_DAYS = "01234"
    DEMAND_ANSWER_DAYS = 3
    DEMAND_CONFIRM_DAYS = 7

    #: SMTP for notification emails; empty MAIL_SERVER sends none (in-app notifications stay).
    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = "permits@localhost"

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URL = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: When the storage (Redis) fails, limits are counted in each process meanwhile and the
    #: routes stay up; /healthz says "degraded" (see permits/ratelimit.py).
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: Seconds to wait for Redis before counting in the process instead (a host that drops
    #: packets would otherwise hold every limited request).
    RATELIMIT_REDIS_TIMEOUT = 1.0
    #: Failed log-ins allowed per account, and log-in attempts per client address.
    LOGIN_LIMIT_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_IP = "30 per minute"
    #: Registration attempts per account being created (its email, and its USCC), and per
    #: client address: high, since a whole industrial park may share one NAT address.
    REGISTER_LIMIT_ACCOUNT = "10 per hour"
    REGISTER_LIMIT_IP = "200 per hour"
    #: PDF passes rendered per user (a revalidation answered 304 from its ETag does not count).
    PDF_LIMIT = "30 per minute"


#: The Flask-SQLAlchemy bind of READ_DATABASE_URL (see database.read_engine).
READ_BIND = "read"


class ConfigurationRefused(RuntimeError):
    """The settings are not safe to serve with (e.g. no real SECRET_KEY in production)."""


def load_config(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill app.config in the documented order and derive the settings that depend on others."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PERMITS")
    if test_config:
        app.config.update(test_config)
    _derive(app)
    _refuse_insecure(app)


#: Settings that are text even when an environment value looks like a number ("310000").
TEXT_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "READ_DATABASE_URL",
    "CITY_CODE",
    "TIMEZONE",
    "RATELIMIT_STORAGE_URL",
    "MAIL_PASSWORD",
    "MAIL_USERNAME",
    "KEYS_DIR",
    "PASS_ISSUER",
    "PDF_FONT",
    "DEMAND_WORKING_DAYS",
)


def _derive(app: Flask) -> None:
    cfg = app.config
    for name in TEXT_SETTINGS:
        if cfg.get(name) is not None:
            cfg[name] = str(cfg[name])
    if cfg["SECRET_KEY"] == DEV_SECRET_KEY:
        key_file = Path(app.instance_path) / SECRET_KEY_FILE
        if key_file.is_file():
            cfg["SECRET_KEY"] = key_file.read_text().strip()
    url = cfg.get("SQLALCHEMY_DATABASE_URI") or cfg["DATABASE_URL"]
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        url = "sqlite:///" + str(Path(app.instance_path) / "permits.sqlite3")
    cfg["SQLALCHEMY_DATABASE_URI"] = _with_our_driver(url)
    if cfg["READ_DATABASE_URL"]:
        # A bind of its own: Flask-SQLAlchemy makes (and disposes of) the engine; no model is
        # mapped to it, so migrations and sessions stay on the primary.
        binds = dict(cfg.get("SQLALCHEMY_BINDS") or {})
        binds[READ_BIND] = _with_our_driver(cfg["READ_DATABASE_URL"])
        cfg["SQLALCHEMY_BINDS"] = binds
    cfg["RATELIMIT_STORAGE_URI"] = cfg["RATELIMIT_STORAGE_URL"]
    # Storage failures arrive as limits' StorageError, whatever the storage (see ratelimit.py).
    options: dict[str, Any] = {"wrap_exceptions": True}
    if cfg["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://", "redis+")):
        timeout = float(cfg["RATELIMIT_REDIS_TIMEOUT"])
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    cfg["RATELIMIT_STORAGE_OPTIONS"] = options | dict(cfg.get("RATELIMIT_STORAGE_OPTIONS") or {})
    cfg["BABEL_DEFAULT_TIMEZONE"] = cfg["TIMEZONE"]
    days = cfg["DEMAND_WORKING_DAYS"]
    if not days or not set(days) <= set("0123456"):
        raise ConfigurationRefused(
            f"DEMAND_WORKING_DAYS is {days!r}: give the working weekdays as digits, 0 for Monday"
            " to 6 for Sunday (e.g. 01234)."
        )
    cfg.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    cfg.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if cfg["HTTPS"]:
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["SESSION_COOKIE_NAME"] = "__Host-session"
        # The remember cookie is never set (REMEMBER_COOKIE_DURATION is 0); were it, it would
        # be as locked down as the session cookie.
        cfg["REMEMBER_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_NAME"] = "__Host-remember_token"
        cfg["PREFERRED_URL_SCHEME"] = "https"


def _with_our_driver(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # A bare PostgreSQL URL would pick psycopg2, which we do not install.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _refuse_insecure(app: Flask) -> None:
    if app.debug or app.testing:
        return
    key = app.config["SECRET_KEY"]
    if not key or key == DEV_SECRET_KEY or len(str(key)) < 32:
        raise ConfigurationRefused(
            "Refusing to start without a real SECRET_KEY: set PERMITS_SECRET_KEY (32+ characters) "
            f"or write one into {Path(app.instance_path) / SECRET_KEY_FILE}."
        )
