"""The speed-only paths, in one place. Each does what a plainer line of code elsewhere would do,
at less cost, and names the benchmark in bench/ and the figure in docs/performance.md that pay
for it: change one only with that benchmark rerun, and drop one that no longer pays.

- the request's user set where Flask-Login keeps it, for a call judged by its API token;
- the register read of a QR verification, on a DB-API connection held per thread, and on
  PostgreSQL through libpq itself with a prepared statement;
- the scan log's rows written by COPY on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import UTC
from typing import Any, NamedTuple

from flask import current_app, g
from flask_login import LoginManager
from psycopg import OperationalError, pq
from sqlalchemy.engine import Engine

from permits.database import read_engine
from permits.models import PassStatus, ScanEvent, User

# --- the request's user ------------------------------------------------------------------------


def set_request_user(user: User | None) -> None:
    """The user of an API call judged by its credentials alone, kept where Flask-Login keeps the
    request's user (`g._login_user`, read by `current_user`; Flask-Login 0.6), the anonymous user
    for none. Going through Flask-Login's request loader instead fingerprints the caller's address
    and browser for session protection and parses cookies, for a call that has no session.
    Benchmark: bench/bench_verify.py; docs/performance.md, "Fourth session: what each change
    bought", "API credentials judged in a hook of our own": worker CPU share 45 → 49 %."""
    manager: LoginManager = current_app.login_manager  # type: ignore[attr-defined]
    g._login_user = user if user is not None else manager.anonymous_user()


# --- the register read of a QR verification ------------------------------------------------------


class RegisterRow(NamedTuple):
    id: int
    status: PassStatus
    revoke_reason: str | None
    suspended_at: Any
    suspended_reason: str | None
    recent: int
    elsewhere: int
    token: str


#: The hot path's one read, for a well-formed QR of one of our keys (its signed claims carry the
#: facts): the pass's status and issued text, its enterprise's suspension, and its latest scans
#: of the hour (bounded by the hourly limit) counted in the database. It runs on a pooled DB-API
#: connection in autocommit: through the ORM session the same read costs several times as much
#: (see docs/performance.md). Portable SQL with `?` placeholders.
_QR_REGISTER_SQL = """
SELECT p.id, p.status, p.revoke_reason, e.suspended_at, e.suspended_reason,
       c.recent, c.elsewhere, p.token
FROM passes p
JOIN enterprises e ON e.id = p.enterprise_id
CROSS JOIN (
    SELECT count(*) AS recent,
           count(CASE WHEN l.checkpoint_id IS NOT NULL AND l.checkpoint_id <> ? THEN 1 END)
               AS elsewhere
    FROM (
        SELECT s.checkpoint_id FROM scan_events s
        WHERE s.pass_id = (SELECT id FROM passes WHERE number = ?) AND s.scanned_at >= ?
        ORDER BY s.scanned_at DESC
        LIMIT ?
    ) l
) c
WHERE p.number = ?
"""


def _numbered(sql: str) -> str:
    """The statement with PostgreSQL's own placeholders ($1, $2, ...) for `?`."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


#: The name the statement is prepared under on each held PostgreSQL connection.
_QR_REGISTER_PREPARED = b"permits_qr_register"
_QR_REGISTER_SQL_PG = _numbered(_QR_REGISTER_SQL).encode()


def read_register(number: str, window: dict[str, Any]) -> RegisterRow | None:
    """The register row of the pass with this number, with its scans in the anomaly window
    (`since`, `cap`, `here`: see services/anomalies.window) counted; None for no such pass.
    Speed: the read every QR verification makes, on a connection held per thread in autocommit
    (no pool checkout, no pre-ping, no BEGIN/COMMIT) instead of the ORM session. Benchmark:
    bench/bench_verify.py; docs/performance.md, "What each change of the third session bought":
    0.80 → 0.64 ms per verification."""
    held = held_connections()
    engine = held.engine  # the replica when there is one: a revocation shows after its lag
    since = window["since"].astimezone(UTC)
    postgres = engine.dialect.name == "postgresql"
    # As SQLAlchemy stores DateTime on SQLite, so that the text comparison is by time.
    since_value: Any = since if postgres else since.strftime("%Y-%m-%d %H:%M:%S.%f")
    values = (window["here"], number, since_value, window["cap"], number)
    for attempt in (1, 2):
        try:
            raw = held.get(engine)
            if postgres:
                row = _read_register_pg(raw, values)
            else:
                cursor = raw.cursor()
                cursor.execute(_QR_REGISTER_SQL, values)
                row = cursor.fetchone()
                cursor.close()
            break
        except engine.dialect.loaded_dbapi.Error:
            held.discard()  # a server restart or a dropped connection: one retry, fresh
            if attempt == 2:
                raise
    if row is None:
        return None
    return RegisterRow(row[0], PassStatus(row[1]), *row[2:])


def _read_register_pg(raw: Any, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The register read on PostgreSQL through libpq itself (psycopg.pq): a prepared statement
    with text parameters and text results. psycopg's cursor adapts the five parameters and
    loads the eight columns in Python: 66 µs of the worker's CPU per read against 30 this way.
    Benchmark: bench/bench_verify.py on PostgreSQL; docs/performance.md, "Sixth session",
    "The register read's client side" (2.44 M → 2.29 M instructions per verification). The
    connection is held by this thread alone, in autocommit (see _HeldConnections)."""
    pgconn = raw.driver_connection.pgconn
    if not raw.info.get("permits.qr_register_prepared"):
        prepared = pgconn.prepare(_QR_REGISTER_PREPARED, _QR_REGISTER_SQL_PG)
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            raise OperationalError(_pq_error(prepared))
        raw.info["permits.qr_register_prepared"] = True
    here, number, since, cap, _ = values
    code = number.encode()
    parameters = [str(here).encode(), code, since.isoformat().encode(), str(cap).encode(), code]
    result = pgconn.exec_prepared(_QR_REGISTER_PREPARED, parameters)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise OperationalError(_pq_error(result))
    if result.ntuples == 0:
        return None
    text: list[Any] = [result.get_value(0, column) for column in range(8)]
    text = [None if cell is None else cell.decode() for cell in text]
    return (int(text[0]), text[1], text[2], text[3], text[4], int(text[5]), int(text[6]), text[7])


def _pq_error(result: Any) -> str:
    message: bytes = result.error_message
    return message.decode(errors="replace").strip() or "the register read failed"


class _HeldConnections:
    """One DB-API connection per thread for the hot read, held rather than checked out of the
    pool per call (which costs a ping round trip), in autocommit: each read is a statement of
    its own, so the connection never sits in an open transaction. Benchmark: see read_register."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._by_thread: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine) -> Any:
        raw = self._by_thread.get(threading.get_ident())
        if raw is None:
            raw = engine.raw_connection()
            driver: Any = raw.driver_connection
            if getattr(driver, "autocommit", None) is False:
                driver.autocommit = True
            with self._lock:
                # A new thread: forget those that ended, so that a server starting a thread
                # per request (the threaded development server) holds no more connections
                # than it has threads.
                alive = {thread.ident for thread in threading.enumerate()}
                ended = [self._by_thread.pop(i) for i in list(self._by_thread) if i not in alive]
                self._by_thread[threading.get_ident()] = raw
            for old in ended:
                old.invalidate()
        return raw

    def __len__(self) -> int:
        return len(self._by_thread)

    def discard(self) -> None:
        """After an error: the next read of this thread opens a new connection."""
        with self._lock:
            raw = self._by_thread.pop(threading.get_ident(), None)
        if raw is not None:
            raw.invalidate()

    def close_all(self) -> None:
        with self._lock:
            held, self._by_thread = list(self._by_thread.values()), {}
        for raw in held:
            raw.invalidate()


def held_connections() -> _HeldConnections:
    """This app's held connections (the app extension `permits.verify_connections`)."""
    held: _HeldConnections | None = current_app.extensions.get("permits.verify_connections")
    if held is None:
        held = current_app.extensions.setdefault(
            "permits.verify_connections", _HeldConnections(read_engine())
        )
    return held


# --- the scan log by COPY ----------------------------------------------------------------------

_SCAN_COLUMNS = tuple(c.name for c in ScanEvent.__table__.columns if c.name != "id")
_COPY_SCANS = f"COPY {ScanEvent.__tablename__} ({', '.join(_SCAN_COLUMNS)}) FROM STDIN"


def copy_scan_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: a batch of scan rows by COPY in one transaction, where a multi-row INSERT
    would do. COPY costs a third of the client's work of the INSERT and about half of the
    server's. Benchmark: bench/bench_verify.py on PostgreSQL; docs/performance.md, "Fourth
    session: what each change bought", "the rest (... scan log by COPY on PostgreSQL)"."""
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(_COPY_SCANS) as copy:
            for row in rows:
                copy.write_row([row[name] for name in _SCAN_COLUMNS])
