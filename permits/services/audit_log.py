"""Reading the audit log: bounded filters, newest first, keyset pages; the chain check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import AuditEvent

#: Longest actor search and object id accepted (longer input is cut, never an error).
SEARCH_MAX = 100
#: How many items of a list in the details are shown before "… (N)".
LIST_SHOWN = 5
DETAILS_MAX = 400


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(filters: AuditFilter, *, before: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """Events matching every filter, newest first; `before` is the seq the last page ended at."""
    statement = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before is not None:
        statement = statement.where(AuditEvent.seq < before)
    actor = filters.actor.strip()[:SEARCH_MAX]
    if actor:
        statement = statement.where(AuditEvent.actor.ilike(_like_pattern(actor), escape="\\"))
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.object_type:
        statement = statement.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(AuditEvent.object_id == filters.object_id.strip()[:40])
    if filters.since:
        statement = statement.where(AuditEvent.created_at >= _day_start(filters.since))
    if filters.until:
        end = _day_start(filters.until + timedelta(days=1))
        statement = statement.where(AuditEvent.created_at < end)
    return list(db.session.scalars(statement))


def actions() -> list[str]:
    """The actions present in the log, for the filter's list."""
    statement = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    return list(db.session.scalars(statement))


def object_types() -> list[str]:
    statement = (
        select(AuditEvent.object_type)
        .where(AuditEvent.object_type.is_not(None))
        .distinct()
        .order_by(AuditEvent.object_type)
    )
    return [name for name in db.session.scalars(statement) if name]


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        shown = ", ".join(_compact(v) for v in value[:LIST_SHOWN])
        more = f", … ({len(value)})" if len(value) > LIST_SHOWN else ""
        return f"[{shown}{more}]"
    return str(value)


def details_text(details: dict[str, Any] | None) -> str:
    """An event's details as "key: value; …", long lists and long text shortened."""
    text = "; ".join(f"{key}: {_compact(value)}" for key, value in (details or {}).items())
    return text if len(text) <= DETAILS_MAX else text[: DETAILS_MAX - 1] + "…"


def event_count() -> int:
    return int(db.session.scalar(select(func.count(AuditEvent.id))) or 0)
