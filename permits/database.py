"""Engine behaviour the service relies on: SQLite that takes write locks up front, UTC everywhere.

On SQLite a read-then-write transaction that starts DEFERRED fails at once with "database is
locked" when another writer got there first; starting it with BEGIN IMMEDIATE makes it wait
(busy_timeout) instead. Requests that only read (GET, HEAD, OPTIONS) start with a plain BEGIN so
that readers never queue behind writers; WAL lets them read while a writer works.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session
from werkzeug.routing import IntegerConverter

#: False while serving a request whose method promises not to write.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 15_000

F = TypeVar("F", bound=Callable[..., Any])


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


def appends_only(view: F) -> F:
    """Marks a view that reads, then appends a row it never reads back (a scan log): on SQLite
    it reads without the write lock and takes it only for the append (see begin_writing)."""
    view.appends_only = True  # type: ignore[attr-defined]
    return view


def mark_write_intent() -> None:
    """before_request: reads (GET, HEAD, OPTIONS) need no write lock on SQLite."""
    view = current_app.view_functions.get(request.endpoint or "")
    write_intent.set(
        request.method not in ("GET", "HEAD", "OPTIONS")
        and not getattr(view, "appends_only", False)
    )


def begin_writing(session: Session | scoped_session[Any]) -> None:
    """About to write in a request that has only read so far: on SQLite, end the read
    transaction (it wrote nothing) so that the write starts with BEGIN IMMEDIATE and waits its
    turn, instead of failing on a snapshot another writer has moved past."""
    if write_intent.get():
        return
    write_intent.set(True)
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


def reset_write_intent(_exc: BaseException | None) -> None:
    """teardown_request: work outside requests (CLI, tests) writes by default."""
    write_intent.set(True)


def read_engine() -> Engine:
    """The engine of the read replica (READ_DATABASE_URL), else the primary's. Only reads that
    may lag behind the primary by the replication delay belong here: the verify hot read and
    the dashboard's figures."""
    from permits.config import READ_BIND
    from permits.extensions import db

    return db.engines.get(READ_BIND) or db.engine


@contextmanager
def reading() -> Iterator[Session | scoped_session[Any]]:
    """A session for replica reads: its own, on the replica, closed afterwards; without a
    replica the request's own session, so that the reads see what this request wrote."""
    from permits.extensions import db

    engine = read_engine()
    if engine is db.engine:
        yield db.session
        return
    with Session(engine) as session:
        yield session


#: The largest id an INTEGER primary key holds on both databases (PostgreSQL's is 32 bits).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:…>` in a URL is a row id: a number no column can hold matches no route (a 404 for
    every method) instead of reaching the driver, which cannot bind it (a 500: SQLite overflows,
    PostgreSQL refuses it as "integer out of range").

    The bound is in the pattern, not in `max`: werkzeug answers 405 when a converter refuses a
    value that a rule for another method on the same path would have matched."""

    regex = (
        r"(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
        r"|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
        r"|21474836[0-3][0-9]|214748364[0-7])"
    )
