"""The audit trail, written from inside the services so web, API and CLI paths are all recorded.

Each event holds the hash of the one before; editing or deleting a row breaks the chain, and
`verify_chain` (the `flask audit verify` command) names the first row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert, select, update

from permits.extensions import db
from permits.models import AuditEvent, AuditHead, User, utcnow

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


def _advance_head() -> tuple[int, str]:
    """Takes the next place in the chain; the row lock is held until the transaction ends."""
    statement = (
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    )
    row = db.session.execute(statement).first()
    if row is None:
        db.session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        row = db.session.execute(statement).first()
        assert row is not None
    return int(row.seq), str(row.hash)


def record(
    action: str,
    *,
    actor: User | None,
    obj: object | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Appends one event to the chain, in the current transaction.

    Without an explicit actor, the user logged in to the current request acts, else "cli"/"system".
    """
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    seq, prev_hash = _advance_head()
    fields: dict[str, Any] = {
        "seq": seq,
        "created_at": now or utcnow(),
        "actor_id": actor.id if actor is not None else None,
        "actor": actor.email if actor is not None else system_actor.get(),
        "ip": client_ip.get(),
        "action": action,
        "object_type": type(obj).__name__ if obj is not None else None,
        "object_id": str(getattr(obj, "id", "")) or None if obj is not None else None,
        "details": details or {},
        "prev_hash": prev_hash,
    }
    event = AuditEvent(**fields, hash=_digest(_hashed_fields(fields)))
    db.session.add(event)
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=event.hash))
    db.session.flush()
    return event


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
