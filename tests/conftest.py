"""Fixtures: a migrated database per run (SQLite, or PostgreSQL when PERMITS_TEST_DATABASE_URL
names a server), emptied after every test; an app and a client per test."""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from permits import create_app
from permits.extensions import db
from permits.models import Base

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
#: Uploaded files of this run (never the developer's instance/uploads).
UPLOADS = tempfile.mkdtemp(prefix="permits-test-uploads-")
#: Signing keys of this run.
KEYS = tempfile.mkdtemp(prefix="permits-test-keys-")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for this run: a temp SQLite file, or a fresh PostgreSQL database dropped after."""
    server = os.environ.get("PERMITS_TEST_DATABASE_URL")
    if not server:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "permits.sqlite3")
        return
    name = f"permits_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_FAST": True,
        "SERVER_NAME": "localhost",
        "UPLOAD_DIR": UPLOADS,
        "KEYS_DIR": KEYS,
        # Scans are written inside each request here; tests/test_scan_log.py covers batching.
        "SCAN_LOG_FLUSH_MS": 0,
        # Live supervision figures for every request; tests/test_supervision.py covers the
        # snapshot served while fresh.
        "SUPERVISION_MAX_AGE_SECONDS": 0,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """Builds the schema once per run with the real migrations (`flask db upgrade`)."""
    from flask_migrate import upgrade

    app = create_app(test_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


class IsolatedClient(FlaskClient):
    """Serves each request as a server thread would: its own app context, `g` and DB session.

    The test's own app context (for factories and assertions) stays out of the request's way;
    its transaction is ended first so it holds no lock, and its objects reload afterwards.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            session = db.session()
            if session.new or session.dirty or session.deleted:
                raise AssertionError("commit test data before making a request")
            session.rollback()
            session.expire_all()  # rollback alone does not expire when no transaction is open
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(migrated: str) -> Iterator[Flask]:
    app = create_app(test_config(migrated))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        release_connections(app)
        db.session.remove()
        empty_every_table()
        db.engine.dispose()


def release_connections(app: Flask) -> None:
    """Connections the app holds outside the pool (the verifier's hot read) close now."""
    held = app.extensions.get("permits.verify_connections")
    if held is not None:
        held.close_all()


def empty_every_table() -> None:
    """A fresh database for the next test, whatever cycles the foreign keys make."""
    tables = Base.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, where it takes effect
        try:
            with conn.begin():
                for table in reversed(tables):
                    conn.execute(table.delete())
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def is_postgres(app: Flask) -> bool:
    return db.engine.dialect.name == "postgresql"


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    page = client.get(path).get_data(as_text=True)
    found = _CSRF_META.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, email: str, password: str, **extra: str) -> Any:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client), **extra},
    )


def form_post(client: FlaskClient, path: str, data: dict[str, Any], *, page: str = "/") -> Any:
    """POSTs a form the way the browser would: with the token of the page it came from."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
