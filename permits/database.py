"""Engine behaviour the service relies on: SQLite that takes write locks up front, UTC everywhere.

On SQLite a read-then-write transaction that starts DEFERRED fails at once with "database is
locked" when another writer got there first; starting it with BEGIN IMMEDIATE makes it wait
(busy_timeout) instead. Requests that only read (GET, HEAD, OPTIONS) start with a plain BEGIN so
that readers never queue behind writers; WAL lets them read while a writer works.
"""

from __future__ import annotations

import sqlite3
from contextvars import ContextVar
from typing import Any

from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from werkzeug.wrappers import Response

#: False while serving a request whose method promises not to write.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 15_000


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite guessing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def mark_write_intent() -> None:
    """before_request: reads (GET, HEAD, OPTIONS) need no write lock on SQLite."""
    write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))


def reset_write_intent(_exc: BaseException | None) -> None:
    """teardown_request: work outside requests (CLI, tests) writes by default."""
    write_intent.set(True)


def commit_or_roll_back(response: Response) -> Response:
    """after_request: one commit per request, only when it succeeded (services only flush)."""
    from permits.extensions import db

    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response
