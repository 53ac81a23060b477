"""The scan log's writer: every verification is logged as a scan event, written in batches.

A verification reads, then appends one row it never reads back. Writing that row inside the
request costs more than everything else the request does (on SQLite a write lock, an INSERT and
a commit per scan), so each worker process buffers the rows and a background thread writes them
with one multi-row INSERT every SCAN_LOG_FLUSH_MS (sooner when many are waiting). A scan reaches
the database within that time; pages that list scans flush this process's buffer first. Rows
still buffered when the process exits normally are written by an atexit hook; a worker killed
outright loses at most that interval's scans.

With SCAN_LOG_FLUSH_MS = 0 each row is written in the request's own transaction instead.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from typing import Any

from flask import Flask, current_app
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from permits import database, fastpaths
from permits.extensions import db
from permits.models import ScanEvent

log = logging.getLogger(__name__)

_INSERT = insert(ScanEvent.__table__)  # type: ignore[arg-type]
#: Write at once when this many rows wait, whatever the interval.
BATCH_ROWS = 500
#: Rows kept while the database cannot be written; beyond this the oldest are dropped (logged).
MAX_BUFFERED = 100_000


class ScanLog:
    """Buffers scan rows of one worker process and writes them from a background thread."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._rows: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._pid: int | None = None
        _live.add(self)

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            if len(self._rows) >= MAX_BUFFERED:
                self._rows.popleft()
                log.error("scan log buffer full: the oldest buffered scan was dropped")
            self._rows.append(row)
            if self._pid != os.getpid():
                self._start()  # first use in this process (gunicorn forks after loading)
            waiting = len(self._rows)
        if waiting >= BATCH_ROWS:
            self._wake.set()

    def flush(self) -> int:
        """Writes every buffered row now; returns how many were written."""
        with self._flushing:
            with self._lock:
                rows = list(self._rows)
                self._rows.clear()
            if not rows:
                return 0
            token = database.write_intent.set(True)
            try:
                if self.engine.dialect.name == "postgresql":
                    fastpaths.copy_scan_rows(self.engine, rows)
                else:
                    with self.engine.begin() as conn:
                        conn.execute(_INSERT, rows)
            except Exception:
                with self._lock:  # keep them for the next attempt, in order
                    self._rows.extendleft(reversed(rows))
                raise
            finally:
                database.write_intent.reset(token)
            return len(rows)

    def stop(self) -> None:
        """Writes what is buffered and ends the background thread."""
        self._stopped = True
        self._wake.set()
        self.flush()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._stopped = False
        threading.Thread(target=self._run, name="scan-log", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("could not write the scan log; will retry")


#: Every writer of this process, flushed at a normal exit.
_live: weakref.WeakSet[ScanLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for writer in list(_live):
        try:
            writer.flush()
        except Exception:
            log.exception("could not write the scan log at exit")


def init_app(app: Flask) -> None:
    """One writer per app and process; nothing runs until the first scan is appended."""
    interval_ms = int(app.config["SCAN_LOG_FLUSH_MS"])
    if interval_ms > 0:
        with app.app_context():
            app.extensions["permits.scan_log"] = ScanLog(db.engine, interval_ms / 1000)


def _writer() -> ScanLog | None:
    writer: ScanLog | None = current_app.extensions.get("permits.scan_log")
    return writer


def append(row: dict[str, Any]) -> None:
    """Logs one scan: buffered when batching, else in the current transaction."""
    writer = _writer()
    if writer is not None:
        writer.append(row)
        return
    database.begin_writing(db.session)
    db.session.connection().execute(_INSERT, row)


def flush() -> None:
    """Before reading scans back: what this process has buffered goes to the database first,
    and (on SQLite) the request's read snapshot starts again so that it sees them."""
    writer = _writer()
    if writer is not None and writer.flush() and db.engine.dialect.name == "sqlite":
        db.session.commit()
