"""Holding plates and drivers while they are checked: a check of the one-vehicle-one-pass rule
and the write it allows are one step only if no other transaction checks the same plate or
driver in between, so every path that checks and then writes first calls `hold`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from permits.extensions import db
from permits.services.conflict_keys import driver_ids, plate_of

#: Past this many plates and drivers, a transaction takes one lock on every vehicle instead of a
#: lock each: PostgreSQL's shared lock table has room for about max_locks_per_transaction (64)
#: locks per connection, and a file of 10,000 vehicles would need 20,000 ("out of shared memory").
MAX_KEY_LOCKS = 64
#: Taken shared before the per-key locks, or exclusive instead of them.
EVERY_VEHICLE = "vehicles:*"
#: session.info key: the lock keys this transaction took outside any savepoint (dropped when the
#: transaction ends; a savepoint's locks go when it is rolled back, so they are not recorded).
HELD = "permits.vehicle_locks"

_LOCK_KEYS = text(
    "SELECT CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(hashtextextended(k, 0))"
    " ELSE pg_advisory_xact_lock(hashtextextended(k, 0)) END"
    " FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
)
_LOCK_EVERY_VEHICLE = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(HELD, None)


def lock_keys(fields: Iterable[Mapping[str, Any]]) -> list[str]:
    """The plates and driver ID numbers these applications name, as sorted lock keys
    ("plate:沪A12345", "driver:<ID number>")."""
    keys: set[str] = set()
    for values in fields:
        if (plate := plate_of(values.get("plate"))) is not None:
            keys.add(f"plate:{plate}")
        keys.update(f"driver:{id_number}" for _i, id_number in driver_ids(values.get("drivers")))
    return sorted(keys)


def hold(fields: Iterable[Mapping[str, Any]]) -> None:
    """Holds, until the transaction ends, the plates and drivers of these applications (as
    `conflict_keys` reads them) against every other transaction that holds one of them: call it
    before checking them, and the check stays true until the write that follows it commits.

    On PostgreSQL, READ COMMITTED lets two transactions check "nothing holds this plate" at
    once, both see nothing, and both write (two passes for one plate). A transaction-scoped
    advisory lock per key, taken in sorted order so that two holders never wait on each other,
    makes the second wait for the first's commit; its check then sees what the first wrote.
    More keys than MAX_KEY_LOCKS (a spreadsheet, a batch) take one exclusive lock on every
    vehicle instead, which single holders take shared before their keys. A transaction names
    everything it will check in its first call, before it updates any row (a later call that
    names nothing new costs nothing): locks taken in two rounds could wait on each other.

    On SQLite nothing is needed: every writing transaction starts with BEGIN IMMEDIATE, so one
    writer at a time is between its check and its commit.
    """
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    held: set[str] = session.info.get(HELD, set())
    if EVERY_VEHICLE in held:  # recorded only when taken exclusive: it covers every key
        return
    keys = [key for key in lock_keys(fields) if key not in held]
    if not keys:
        return
    with session.no_autoflush:  # the caller's unsaved changes are written after the lock
        if len(keys) > MAX_KEY_LOCKS and not held:
            # Never from shared to exclusive: two transactions doing it would wait on each other.
            session.execute(_LOCK_EVERY_VEHICLE, {"key": EVERY_VEHICLE})
            keys = [EVERY_VEHICLE]
        else:
            session.execute(_LOCK_KEYS, {"keys": [EVERY_VEHICLE, *keys]}).all()
    if not session.in_nested_transaction():
        session.info[HELD] = held | set(keys)
