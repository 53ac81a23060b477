"""The audit trail, written from inside the services so web, API and CLI paths are all recorded.

Each event holds the hash of the one before; editing or deleting a row breaks the chain, and
`verify_chain` (the `flask audit verify` command) names the first row that does not fit.
"""

from __future__ import annotations

import functools
import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Integer, TextClause, bindparam, insert, select, text, update
from sqlalchemy.event import listens_for
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    make_transient_to_detached,
)

from permits.extensions import db
from permits.models import AuditEvent, AuditHead, User, utcnow
from permits.models.base import Base

GENESIS = "0" * 64

#: The client address of the current request (set by a request hook; None for the CLI).
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
#: Who acts when no user does: "cli" in commands, "system" otherwise.
system_actor: ContextVar[str] = ContextVar("system_actor", default="system")


def remember_client() -> None:
    """before_request: events recorded during this request carry the client's address."""
    client_ip.set(request.remote_addr)


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hashed_fields(event: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    created_at = get("created_at")
    assert isinstance(created_at, datetime)
    return {
        "seq": get("seq"),
        "created_at": created_at.isoformat(timespec="microseconds"),
        "actor_id": get("actor_id"),
        "actor": get("actor"),
        "ip": get("ip"),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": get("object_id"),
        "details": get("details"),
        "prev_hash": get("prev_hash"),
    }


#: Where a session keeps the events recorded in its transaction until they are chained.
PENDING_KEY = "audit_pending"


@dataclass
class _Pending:
    """An event waiting for its place in the chain, and the (sub)transaction that recorded it."""

    event: AuditEvent
    transaction: SessionTransaction


def record(
    action: str,
    *,
    actor: User | None,
    obj: object | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Adds one event to the current transaction; it takes its place in the chain at COMMIT.

    The chain's head is locked only just before COMMIT (`_chain_pending`), so concurrent
    transactions are not serialized through everything they do after their first audited step.
    The event returned has its `seq`, `hash` and `id` once the transaction has committed.
    Without an explicit actor, the user logged in to the current request acts, else "cli"/"system".
    """
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    session = db.session()
    session.flush()  # what the caller added is written and has its id, as before
    event = AuditEvent(
        created_at=now or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else system_actor.get(),
        ip=client_ip.get(),
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(getattr(obj, "id", "")) or None if obj is not None else None,
        details=details or {},
    )
    # A transaction is begun if none is, so that its rollback takes the event back.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(PENDING_KEY, []).append(_Pending(event, transaction))
    return event


def _chain_pending(session: Session, *, at_commit: bool) -> None:
    """Chains and inserts the session's pending events, in the order they were recorded.

    The transaction's other work is flushed first; then the head row is locked (UPDATE …
    RETURNING) for only these inserts and the COMMIT that follows.
    """
    pending: list[_Pending] = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    session.flush()
    events = [p.event for p in pending]
    seq, prev_hash = _advance_head(session, len(events))
    for offset, event in enumerate(events):
        event.seq = seq - len(events) + 1 + offset
        event.prev_hash = prev_hash
        event.hash = prev_hash = _digest(_hashed_fields(event))
    if at_commit and session.get_bind().dialect.name == "postgresql":
        _insert_and_move_head(session, events, prev_hash)
        return
    session.add_all(events)
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev_hash))


def _insert_and_move_head(session: Session, events: list[AuditEvent], last_hash: str) -> None:
    """PostgreSQL: the events' INSERT and the head's new hash in one statement (a data-modifying
    WITH), one round trip less while the head is locked; the events become persistent. Only at
    COMMIT: no savepoint can roll these rows back behind the session's back any more."""
    params: dict[str, Any] = {"last_hash": last_hash}
    for i, event in enumerate(events):
        params.update({f"{name}_{i}": getattr(event, name) for name in _EVENT_COLUMNS})
    rows = session.execute(_insert_events_statement(len(events)), params)
    ids: dict[int, int] = {row.seq: row.id for row in rows}
    for event in events:
        event.id = ids[event.seq]
        make_transient_to_detached(event)
        session.add(event)


#: The columns an event is inserted with (its id comes from the sequence).
_EVENT_COLUMNS = [c.key for c in Base.metadata.tables["audit_events"].columns if c.key != "id"]


@functools.lru_cache(maxsize=16)
def _insert_events_statement(count: int) -> TextClause:
    """`WITH moved AS (UPDATE audit_head …) INSERT INTO audit_events … VALUES …, … RETURNING`
    for `count` events, as SQL text made once per count. SQLAlchemy never caches the compiled
    form of a multi-row VALUES (nor of a VALUES construct), so the Core statement was compiled
    anew at every audited COMMIT; text is cached by its string. Rows as SELECTs joined by UNION
    ALL would be cached too, but cost PostgreSQL far more to plan (300 ms against 3 for a
    thousand rows)."""
    table = Base.metadata.tables["audit_events"]
    rows = ", ".join(
        "(" + ", ".join(f":{name}_{i}" for name in _EVENT_COLUMNS) + ")" for i in range(count)
    )
    moved = "WITH moved AS (UPDATE audit_head SET hash = :last_hash WHERE id = 1 RETURNING id)"
    columns = ", ".join(_EVENT_COLUMNS)
    # Only the model's column names and numbered placeholders go into the text.
    sql = f"{moved} INSERT INTO audit_events ({columns}) VALUES {rows} RETURNING seq, id"  # noqa: S608
    return text(sql).bindparams(
        bindparam("last_hash", type_=table.c.hash.type),
        *[
            bindparam(f"{name}_{i}", type_=table.c[name].type)
            for i in range(count)
            for name in _EVENT_COLUMNS
        ],
    )


#: Built once: every audited COMMIT runs it.
_ADVANCE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + bindparam("count", type_=Integer))
    .returning(AuditHead.seq, AuditHead.hash)
)


def _advance_head(session: Session, count: int) -> tuple[int, str]:
    """Takes the next `count` places in the chain: the new last seq and the hash before them.
    The row lock is held until the transaction ends."""
    row = session.execute(_ADVANCE_HEAD, {"count": count}).first()
    if row is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        row = session.execute(_ADVANCE_HEAD, {"count": count}).first()
        assert row is not None
    return int(row.seq), str(row.hash)


@listens_for(Session, "before_commit")
def _chain_before_commit(session: Session) -> None:
    # A savepoint's release keeps its events for the outer transaction's COMMIT.
    if not session.in_nested_transaction():
        _chain_pending(session, at_commit=True)


@listens_for(Session, "do_orm_execute")
def _chain_before_reading_the_trail(state: ORMExecuteState) -> None:
    """A query on the audit tables inside a transaction that recorded events sees them, as when
    each event was written at once (takes the head lock early; only tests and rare paths do it).

    Not inside a savepoint: its rollback would take back events of the outer transaction too.
    """
    mapper = state.bind_mapper  # cheap, unlike all_mappers, and it sees select_from() too
    if (
        mapper is not None
        and mapper.class_ in (AuditEvent, AuditHead)
        and state.session.info.get(PENDING_KEY)
        and not state.session.in_nested_transaction()
    ):
        _chain_pending(state.session, at_commit=False)


@listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events recorded inside the rolled-back (sub)transaction never happened."""
    pending: list[_Pending] | None = session.info.get(PENDING_KEY)
    if pending:
        pending[:] = [p for p in pending if not _inside(p.transaction, previous_transaction)]


@listens_for(Session, "after_transaction_end")
def _drop_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    # A COMMIT has taken its events already; what is left belongs to a transaction that ended
    # without one (rolled back, or the session closed).
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str


def verify_chain() -> ChainBreak | None:
    """The first event that does not fit the chain, or None when it is whole."""
    expected_seq, prev_hash = 1, GENESIS
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000)
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, None, f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, event.id, "does not follow the event before it")
        if _digest(_hashed_fields(event)) != event.hash:
            return ChainBreak(event.seq, event.id, "was changed after it was written")
        expected_seq, prev_hash = event.seq + 1, event.hash
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainBreak(expected_seq, None, "the newest events were deleted")
    return None
