"""The approvers' queue: what waits at their department's step and they may decide (not what
they signed another step of), overdue first, searched and paged by keyset."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, tuple_

from permits import validators
from permits.database import MAX_ROW_ID
from permits.extensions import db
from permits.models import (
    Application,
    CargoCategory,
    Decision,
    Department,
    Enterprise,
    Kind,
    Role,
    User,
)
from permits.workflow import DECISIONS, State


@dataclass(frozen=True)
class QueueFilter:
    kind: Kind | None = None
    district: str | None = None
    cargo_category: CargoCategory | None = None
    overdue: bool = False
    search: str = ""


def encode_cursor(application: Application) -> str:
    assert application.step_due_at is not None
    raw = f"{application.step_due_at.isoformat()}|{application.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, _, ident = raw.partition("|")
        after_id = int(ident)
        if not 0 <= after_id <= MAX_ROW_ID:
            return None  # no row has it, and PostgreSQL would refuse to compare with it
        return datetime.fromisoformat(due), after_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _looks_like_plate(term: str) -> bool:
    """A plate or its beginning: a province's character and a letter ("沪A", "沪A1234")."""
    return len(term) >= 2 and term[0] in validators.PLATE_PROVINCES and "A" <= term[1] <= "Z"


def search_condition(term: str) -> ColumnElement[bool]:
    """What the queue's search box matches: a whole USCC exactly, a plate by its beginning, and
    anything else within enterprise names. One kind of match per term, so each can use its own
    index: an OR of all three made PostgreSQL read the whole queue with its enterprises
    (300 ms for a plate in a queue of 86,000 at city scale)."""
    uscc = validators.normalize_uscc(term)
    if validators.uscc_problem(uscc) is None:
        return Application.enterprise_id.in_(select(Enterprise.id).where(Enterprise.uscc == uscc))
    plate = validators.normalize_plate(term)
    if _looks_like_plate(plate):
        # The prefix as a range too: the plate index serves it whatever the collation (LIKE
        # 'x%' alone uses an index only under the C collation).
        upper = plate[:-1] + chr(ord(plate[-1]) + 1)
        return and_(
            Application.plate >= plate,
            Application.plate < upper,
            Application.plate.startswith(plate, autoescape=True),
        )
    return Application.enterprise_id.in_(
        select(Enterprise.id).where(Enterprise.name.contains(term, autoescape=True))
    )


def awaiting(approver: User, department: Department) -> ColumnElement[bool]:
    """What the approver may decide now: at their department's step, and not an application
    they signed another step of (separation of duties), so the queue lists only what they can
    act on. A NOT EXISTS on the decisions, like the guard of every decision's move."""
    signed_another_step = (
        select(Decision.id)
        .where(
            Decision.application_id == Application.id,
            Decision.actor_id == approver.id,
            Decision.action.in_(DECISIONS),
            Decision.step != Application.current_step,
        )
        # OFFSET 0 keeps this a check per listed row (an index probe by application). Without
        # it, PostgreSQL's generic plan of the statement (psycopg prepares what runs often)
        # joined every decision the approver ever made: 73,744 for the city's transport
        # officer at bench_scale's size, 190 ms for the queue's first page instead of 25.
        .offset(0)
        .exists()
    )
    return and_(
        Application.current_department_code == department.code,
        Application.current_scope == department.scope,
        Application.status == State.IN_REVIEW,
        ~signed_another_step,
    )


def waiting_count(approver: User, *, cap: int = 1000) -> int:
    """How many applications wait for the approver's decision, counted up to cap + 1 (a home
    page says "more than cap" rather than count a city's whole queue)."""
    department = approver.department
    if approver.role is not Role.APPROVER or department is None:
        return 0
    waiting = select(Application.id).where(awaiting(approver, department)).limit(cap + 1)
    return int(db.session.scalar(select(func.count()).select_from(waiting.subquery())) or 0)


def queue(
    approver: User,
    filters: QueueFilter,
    *,
    now: datetime,
    after: str | None = None,
    limit: int = 25,
) -> list[Application]:
    """What waits for the approver's decision, soonest due (so overdue) first, by keyset pages."""
    department = approver.department
    if approver.role is not Role.APPROVER or department is None:
        return []
    query = select(Application).where(awaiting(approver, department))
    if filters.kind is not None:
        query = query.where(Application.kind == filters.kind)
    if filters.district:
        query = query.where(Application.district == filters.district)
    if filters.cargo_category is not None:
        query = query.where(Application.cargo_category == filters.cargo_category)
    if filters.overdue:
        query = query.where(Application.step_due_at < now)
    term = filters.search.strip()
    if term:
        query = query.where(search_condition(term))
    position = decode_cursor(after) if after else None
    if position is not None:
        # A row comparison, so that the page starts by a range along the queue index (an OR of
        # the two halves made PostgreSQL read the whole queue up to the cursor first).
        query = query.where(tuple_(Application.step_due_at, Application.id) > tuple_(*position))
    query = query.order_by(Application.step_due_at, Application.id).limit(limit)
    return list(db.session.scalars(query))
