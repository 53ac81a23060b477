"""One vehicle, one pass at a time; one driver, one vehicle at a time: the checks against what is
stored.

Validity periods are inclusive ranges of calendar days: [from, until] and [from2, until2] overlap
when from <= until2 and from2 <= until, so a renewal that starts the day after the old pass ends
does not overlap it. What blocks a vehicle application:

- an *active* pass (not revoked, not expired) for the same plate with overlapping days;
- a *pending* application (in review or returned, any enterprise) for the same plate with
  overlapping days;
- a *draft* of the same enterprise for the same plate with overlapping days (its own duplicate;
  another enterprise's draft blocks nobody);
- the same, for each driver's ID number, on a *different* plate (a driver on the same vehicle's
  renewal is fine).

The pass an application renews is never in the way: it is superseded when the renewal is issued.
Queries go through the plate and ID-number indexes.

A check and the write it allows are one step only if no other transaction checks the same plate
or driver in between: every path that checks and then writes first calls
`conflict_locks.hold`. The same rule within one batch is `batch_conflicts`; how the fields are
read, `conflict_keys`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    and_,
    bindparam,
    cast,
    null,
    or_,
    select,
    union_all,
)

from permits.extensions import db
from permits.models import Application, Driver, Kind, Pass, PassStatus
from permits.services.conflict_keys import as_date, driver_ids, plate_of
from permits.services.conflict_locks import hold
from permits.services.errors import Conflict
from permits.workflow import State

#: States of an application that hold a plate and its drivers while a decision is awaited.
PENDING = (State.IN_REVIEW, State.RETURNED)


def _pending_or_own_draft(enterprise_id: int | None) -> ColumnElement[bool]:
    pending = Application.status.in_(PENDING)
    if enterprise_id is None:
        return pending
    return or_(
        pending, and_(Application.status == State.DRAFT, Application.enterprise_id == enterprise_id)
    )


def _holding(
    start: date | BindParameter[date],
    end: date | BindParameter[date],
    *,
    now: datetime | BindParameter[datetime],
    enterprise_id: int | None,
    renewal_of_id: int | BindParameter[int] | None = None,
    exclude_application_id: int | BindParameter[int] | None = None,
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The conditions on a pass and on an application that hold a plate or a driver for some of
    the days [start, end]: (a live pass, other than the one renewed; a pending application, or
    the enterprise's own draft, other than the one excluded). One definition for the exact
    check of one application and for the first pass over a whole file."""
    live_pass = and_(
        Pass.kind == Kind.VEHICLE_PASS,
        Pass.status == PassStatus.ACTIVE,
        Pass.expires_at > now,
        Pass.valid_from <= end,
        Pass.valid_until >= start,
    )
    if renewal_of_id is not None:
        live_pass = and_(live_pass, Pass.id != renewal_of_id)
    other_application = and_(
        Application.kind == Kind.VEHICLE_PASS,
        _pending_or_own_draft(enterprise_id),
        Application.valid_from <= end,
        Application.valid_until >= start,
    )
    if exclude_application_id is not None:
        other_application = and_(other_application, Application.id != exclude_application_id)
        # Its own pass, issued by a colleague's approval that committed a moment ago: the
        # decision that comes too late is told "already decided", not that the plate is taken.
        live_pass = and_(live_pass, Pass.application_id != exclude_application_id)
    return live_pass, other_application


def values_of(application: Application) -> dict[str, Any]:
    """What `conflicts` reads, from an application as it stands."""
    return {
        "plate": application.plate,
        "drivers": [{"id_number": d.id_number} for d in application.drivers],
        "valid_from": application.valid_from,
        "valid_until": application.valid_until,
    }


def conflicts(
    fields: Mapping[str, Any],
    *,
    now: datetime,
    enterprise_id: int | None = None,
    exclude_application_id: int | None = None,
    renewal_of_id: int | None = None,
    include_pending: bool = True,
) -> dict[str, str]:
    """Field → message for a vehicle application's plate and drivers that are taken for
    overlapping days. A message names the other pass number or application id when the reader
    may know it: the approvers (no `enterprise_id`) and the enterprise for its own; another
    enterprise's pass or application is only said to exist (one enterprise never sees another's
    numbers or dates).

    `fields` holds the application's values (raw or cleaned: plate, drivers, valid_from,
    valid_until); without both dates nothing can overlap yet. `enterprise_id` makes that
    enterprise's own drafts count; `include_pending=False` looks at issued passes only (the
    last approval).
    """
    start, end = as_date(fields.get("valid_from")), as_date(fields.get("valid_until"))
    if start is None or end is None or end < start:
        return {}
    plate = plate_of(fields.get("plate"))
    drivers = driver_ids(fields.get("drivers"))
    problems: dict[str, str] = {}
    ids = [id_number for _i, id_number in drivers]
    taken: dict[str, str] = {}
    if plate is not None and ids and not include_pending:
        plate_message, taken = _held_by_passes(
            {
                "plate": plate,
                "ids": ids,
                "start": start,
                "end": end,
                "now": now,
                "renewal_of_id": renewal_of_id,
                "exclude_application_id": exclude_application_id,
            }
        )
        if plate_message:
            problems["plate"] = plate_message
    else:
        live_pass, other_application = _holding(
            start,
            end,
            now=now,
            enterprise_id=enterprise_id,
            renewal_of_id=renewal_of_id,
            exclude_application_id=exclude_application_id,
        )
        if plate is not None:
            message = _plate_conflict(
                plate, live_pass, other_application, include_pending, enterprise_id
            )
            if message:
                problems["plate"] = message
        if ids:
            taken = _drivers_taken(
                ids, plate, live_pass, other_application, include_pending, enterprise_id
            )
    for i, id_number in drivers:
        if id_number in taken:
            problems[f"drivers.{i}.id_number"] = taken[id_number]
    return problems


def _plate_pass_message(number: str, start: date, end: date) -> str:
    return str(
        _l(
            "This vehicle already holds pass %(number)s, valid %(start)s to %(end)s; "
            "the dates overlap.",
            number=number,
            start=start.isoformat(),
            end=end.isoformat(),
        )
    )


def _driver_pass_message(number: str) -> str:
    return str(
        _l(
            "This driver is already on pass %(number)s of another vehicle for overlapping dates.",
            number=number,
        )
    )


def _others(owner: int, reader: int | None) -> bool:
    """Whether the conflicting pass or application belongs to an enterprise other than the one
    that reads the message (None: an approver, who may see every number)."""
    return reader is not None and owner != reader


#: What an enterprise is told of another enterprise's pass or application.
_OTHERS = {
    ("plate", "pass"): _l(
        "This vehicle already holds another enterprise's pass for overlapping dates."
    ),
    ("plate", "application"): _l(
        "This vehicle is already in another enterprise's application for overlapping dates."
    ),
    ("driver", "pass"): _l(
        "This driver is already on another enterprise's pass for overlapping dates."
    ),
    ("driver", "application"): _l(
        "This driver is already on another enterprise's application for overlapping dates."
    ),
}


def _held_by_passes(params: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """`_plate_conflict` and `_drivers_taken` against live passes only (the last approval),
    as one query where they were two: the plate's passes and the drivers' passes of other
    vehicles, told apart by the driver's ID number (none for the plate's)."""
    statement = _held_by_passes_statement(
        params["renewal_of_id"] is not None, params["exclude_application_id"] is not None
    )
    rows = db.session.execute(statement, params).all()
    plate_rows = [r for r in rows if r.id_number is None]
    plate_message = None
    if plate_rows:
        first = min(plate_rows, key=lambda r: (r.valid_from, r.id))
        plate_message = _plate_pass_message(first.number, first.valid_from, first.valid_until)
    taken: dict[str, str] = {}
    for row in sorted((r for r in rows if r.id_number is not None), key=lambda r: r.id):
        taken.setdefault(row.id_number, _driver_pass_message(row.number))
    return plate_message, taken


@functools.cache
def _held_by_passes_statement(renewal: bool, exclude: bool) -> CompoundSelect[Any]:
    """Built once per shape, with its parameters bound at execution: the last approval of every
    vehicle pass runs it."""
    live_pass, _other = _holding(
        bindparam("start"),
        bindparam("end"),
        now=bindparam("now"),
        enterprise_id=None,
        renewal_of_id=bindparam("renewal_of_id") if renewal else None,
        exclude_application_id=bindparam("exclude_application_id") if exclude else None,
    )
    plate: BindParameter[str] = bindparam("plate")
    by_plate = select(
        Pass.id,
        Pass.number,
        Pass.valid_from,
        Pass.valid_until,
        cast(null(), Driver.id_number.type).label("id_number"),
    ).where(Pass.plate == plate, live_pass)
    by_driver = (
        select(Pass.id, Pass.number, Pass.valid_from, Pass.valid_until, Driver.id_number)
        .join(Pass, Pass.application_id == Driver.application_id)
        .where(
            Driver.id_number.in_(bindparam("ids", expanding=True)), live_pass, Pass.plate != plate
        )
    )
    return union_all(by_plate, by_driver)


def _plate_conflict(
    plate: str,
    live_pass: ColumnElement[bool],
    other_application: ColumnElement[bool],
    include_pending: bool,
    reader: int | None = None,
) -> str | None:
    issued = db.session.execute(
        select(Pass.number, Pass.valid_from, Pass.valid_until, Pass.enterprise_id)
        .where(Pass.plate == plate, live_pass)
        .order_by(Pass.valid_from)
        .limit(1)
    ).first()
    if issued is not None:
        if _others(issued.enterprise_id, reader):
            return str(_OTHERS["plate", "pass"])
        return _plate_pass_message(issued.number, issued.valid_from, issued.valid_until)
    if not include_pending:
        return None
    pending = db.session.execute(
        select(
            Application.id,
            Application.valid_from,
            Application.valid_until,
            Application.enterprise_id,
        )
        .where(Application.plate == plate, other_application)
        .order_by(Application.id)
        .limit(1)
    ).first()
    if pending is not None:
        if _others(pending.enterprise_id, reader):
            return str(_OTHERS["plate", "application"])
        return str(
            _l(
                "This vehicle is already in application %(id)s, for %(start)s to %(end)s; "
                "the dates overlap.",
                id=pending.id,
                start=pending.valid_from.isoformat(),
                end=pending.valid_until.isoformat(),
            )
        )
    return None


def _drivers_taken(
    ids: list[str],
    plate: str | None,
    live_pass: ColumnElement[bool],
    other_application: ColumnElement[bool],
    include_pending: bool,
    reader: int | None = None,
) -> dict[str, str]:
    """ID number → message, for drivers already on another vehicle for overlapping days."""
    taken: dict[str, str] = {}
    query = (
        select(Driver.id_number, Pass.number, Pass.enterprise_id)
        .join(Pass, Pass.application_id == Driver.application_id)
        .where(Driver.id_number.in_(ids), live_pass)
        .order_by(Pass.id)
    )
    if plate is not None:
        query = query.where(Pass.plate != plate)
    for id_number, number, owner in db.session.execute(query):
        taken.setdefault(
            id_number,
            str(_OTHERS["driver", "pass"])
            if _others(owner, reader)
            else _driver_pass_message(number),
        )
    if not include_pending:
        return taken
    pending = (
        select(Driver.id_number, Application.id, Application.enterprise_id)
        .join(Application, Application.id == Driver.application_id)
        .where(Driver.id_number.in_(ids), other_application)
        .order_by(Application.id)
    )
    if plate is not None:
        pending = pending.where(or_(Application.plate.is_(None), Application.plate != plate))
    for id_number, application_id, owner in db.session.execute(pending):
        if _others(owner, reader):
            taken.setdefault(id_number, str(_OTHERS["driver", "application"]))
            continue
        taken.setdefault(
            id_number,
            str(
                _l(
                    "This driver is already on application %(id)s of another vehicle for "
                    "overlapping dates.",
                    id=application_id,
                )
            ),
        )
    return taken


def seen_anywhere(
    fields: Sequence[Mapping[str, Any]], *, now: datetime, enterprise_id: int | None
) -> set[str]:
    """The plates and driver ID numbers among these applications that any live pass or any
    pending (or the enterprise's own draft) application holds for days within their whole date
    range: only an application with one of them can conflict, so a file of thousands needs the
    exact check (`conflicts`) for those few alone. Three queries, however many rows."""
    spans = [(as_date(f.get("valid_from")), as_date(f.get("valid_until"))) for f in fields]
    dated = [(a, b) for a, b in spans if a is not None and b is not None and a <= b]
    if not dated:
        return set()
    start, end = min(a for a, _ in dated), max(b for _, b in dated)
    plates = {p for f in fields if (p := plate_of(f.get("plate"))) is not None}
    ids = {i for f in fields for _n, i in driver_ids(f.get("drivers"))}
    live_pass, other_application = _holding(start, end, now=now, enterprise_id=enterprise_id)
    found: set[str] = set()
    for chunk in _chunks(sorted(plates)):
        found.update(db.session.scalars(select(Pass.plate).where(Pass.plate.in_(chunk), live_pass)))
        found.update(
            p
            for p in db.session.scalars(
                select(Application.plate).where(Application.plate.in_(chunk), other_application)
            )
            if p is not None
        )
    for chunk in _chunks(sorted(ids)):
        found.update(
            db.session.scalars(
                select(Driver.id_number)
                .join(Pass, Pass.application_id == Driver.application_id)
                .where(Driver.id_number.in_(chunk), live_pass)
            )
        )
        found.update(
            db.session.scalars(
                select(Driver.id_number)
                .join(Application, Application.id == Driver.application_id)
                .where(Driver.id_number.in_(chunk), other_application)
            )
        )
    return found


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def check_before_issue(application: Application, *, now: datetime) -> None:
    """The last approval of a vehicle pass is refused while another live pass holds its plate
    or a driver for overlapping days (two applications that were in review at once)."""
    if application.kind is not Kind.VEHICLE_PASS:
        return
    values = values_of(application)
    hold([values])
    taken = conflicts(
        values,
        now=now,
        exclude_application_id=application.id,
        renewal_of_id=application.renewal_of_id,
        include_pending=False,
    )
    if taken:
        raise Conflict(
            _l(
                "No pass can be issued: %(problem)s Return or reject this application.",
                problem=next(iter(taken.values())),
            ),
            taken,
        )
