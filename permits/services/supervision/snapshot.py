"""The supervision figures as the dashboard and GET /api/v1/stats serve them: a snapshot
refreshed at most once per max age, by a timer (`flask supervision refresh`) or by the first
request that finds it stale, with a claim so that one refresh runs at a time on any number of
app servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permits.database import read_engine, write_intent
from permits.extensions import db
from permits.models import SNAPSHOT_ID, Kind, SupervisionSnapshot
from permits.services.supervision.decisions import Problem, StepTime
from permits.services.supervision.figures import (
    CheckpointScans,
    Figures,
    OverdueDepartment,
    compute_in,
)
from permits.workflow import Action

#: A refresh still unfinished after this long is taken for dead (its worker was killed): the
#: next caller that finds the figures stale may start another.
REFRESH_TIMEOUT = timedelta(minutes=5)
#: The layout of SupervisionSnapshot.figures; a snapshot of another layout is recomputed.
SNAPSHOT_VERSION = 1


def current_figures(now: datetime, *, zone: ZoneInfo, max_age: timedelta) -> Figures:
    """The figures as the dashboard and GET /api/v1/stats show them: the snapshot while it is
    younger than `max_age`, else recomputed and stored here. While another caller refreshes
    it, the older snapshot is served (its `generated_at` says how old); with none at all yet,
    the figures are computed here, as the supervisor would otherwise see nothing."""
    stored = stored_figures()
    if stored is not None and now - stored.generated_at < max_age:
        return stored
    refreshed = refresh(now, zone=zone, stale_before=now - max_age)
    if refreshed is not None:
        return refreshed
    # Someone else refreshed the figures since we looked, or is refreshing them now.
    stored = stored_figures() or stored
    return stored if stored is not None else _computed(now, zone)


def refresh(
    now: datetime, *, zone: ZoneInfo, stale_before: datetime | None = None
) -> Figures | None:
    """Computes the figures at `now` and stores them as the snapshot; None (and nothing done)
    while another refresh runs, or when the snapshot is no longer older than `stale_before`
    (default: `now`). At most one refresh runs at a time, on any number of app servers."""
    if not _claim(now, now if stale_before is None else stale_before):
        return None
    try:
        computed = _computed(now, zone)
    except BaseException:
        with _writing() as session:
            session.execute(_claimed_by(now).values(refreshing_since=None))
            session.commit()
        raise
    with _writing() as session:
        session.execute(
            _claimed_by(now).values(
                figures=snapshot_of(computed),
                computed_at=computed.generated_at,
                refreshing_since=None,
            )
        )
        session.commit()
    return computed


def stored_figures() -> Figures | None:
    """The snapshot as last stored, or None when there is none (yet) that this code reads. A
    plain read on the primary: on SQLite it does not wait for the write lock."""
    with _own_session(db.engine, writes=False) as session:
        data = session.scalar(
            select(SupervisionSnapshot.figures).where(SupervisionSnapshot.id == SNAPSHOT_ID)
        )
    if not data or data.get("version") != SNAPSHOT_VERSION:
        return None
    return figures_from_snapshot(data)


@contextmanager
def _own_session(engine: Engine, *, writes: bool) -> Iterator[Session]:
    """A short transaction of its own, apart from the request's: the snapshot is read and
    written from GET requests too and never waits for the request's commit. On SQLite one that
    writes takes the write lock up front (BEGIN IMMEDIATE), one that reads never takes it."""
    token = write_intent.set(writes)
    try:
        with Session(engine) as session:
            yield session
    finally:
        write_intent.reset(token)


def _writing() -> AbstractContextManager[Session]:
    """On the primary, for the few statements that claim and store the snapshot; committed by
    the caller."""
    return _own_session(db.engine, writes=True)


def _computed(now: datetime, zone: ZoneInfo) -> Figures:
    """The figures read in a session of their own (on the replica if there is one), so that a
    refresh never holds the write lock while it counts."""
    with _own_session(read_engine(), writes=False) as session:
        return compute_in(session, now, zone)


def _claimed_by(claimed_at: datetime) -> Any:
    return update(SupervisionSnapshot).where(
        SupervisionSnapshot.id == SNAPSHOT_ID,
        SupervisionSnapshot.refreshing_since == claimed_at,
    )


def _claim(now: datetime, stale_before: datetime) -> bool:
    """Marks the snapshot as being refreshed since `now`, if it is stale and nobody else is
    refreshing it: one conditional UPDATE, so of two callers only one gets the row."""
    snapshot = SupervisionSnapshot
    with _writing() as session:
        claimed = session.execute(
            update(snapshot)
            .where(
                snapshot.id == SNAPSHOT_ID,
                or_(snapshot.computed_at.is_(None), snapshot.computed_at < stale_before),
                or_(
                    snapshot.refreshing_since.is_(None),
                    snapshot.refreshing_since < now - REFRESH_TIMEOUT,
                ),
            )
            .values(refreshing_since=now)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            session.commit()
            return True
        if session.get(snapshot, SNAPSHOT_ID) is not None:
            return False
        session.add(snapshot(id=SNAPSHOT_ID, refreshing_since=now))
        try:
            session.commit()  # the very first refresh
        except IntegrityError:  # another caller's first refresh got there first
            return False
        return True


def snapshot_of(f: Figures) -> dict[str, Any]:
    """Every field of the figures as JSON, so that figures_from_snapshot gives them back equal.
    Orderings that matter (most first) are kept as lists of pairs, not as JSON objects."""
    return {
        "version": SNAPSHOT_VERSION,
        "generated_at": f.generated_at.isoformat(),
        "by_state": list(f.by_state.items()),
        "by_kind": list(f.by_kind.items()),
        "by_district": list(f.by_district.items()),
        "per_day": [[day.isoformat(), n] for day, n in f.per_day],
        "steps": [
            [s.kind.value, s.step, s.department, s.decisions, s.median, s.p90] for s in f.steps
        ],
        "overdue_total": f.overdue_total,
        "overdue": [
            [
                d.department_code,
                d.scope,
                d.count,
                [[ident, due.isoformat()] for ident, due in d.applications],
            ]
            for d in f.overdue
        ],
        "common_problems": [
            [p.action.value, p.reason_code, p.count, p.examples] for p in f.common_problems
        ],
        "passes": [f.passes_issued, f.passes_active, f.passes_revoked],
        "scans_total": f.scans_total,
        "scan_hours": [hour.isoformat() for hour in f.scan_hours],
        "scans": [[c.checkpoint_id, c.code, c.name, c.total, c.per_hour] for c in f.scans],
        "verdicts": list(f.verdicts.items()),
        "anomalies": f.anomalies,
    }


def figures_from_snapshot(data: dict[str, Any]) -> Figures:
    issued, active, revoked = data["passes"]
    return Figures(
        generated_at=datetime.fromisoformat(data["generated_at"]),
        by_state=dict(data["by_state"]),
        by_kind=dict(data["by_kind"]),
        by_district=dict(data["by_district"]),
        per_day=[(date.fromisoformat(day), n) for day, n in data["per_day"]],
        steps=[
            StepTime(Kind(kind), step, department, decisions, median, p90)
            for kind, step, department, decisions, median, p90 in data["steps"]
        ],
        overdue_total=data["overdue_total"],
        overdue=[
            OverdueDepartment(
                code, scope, count, [(i, datetime.fromisoformat(due)) for i, due in listed]
            )
            for code, scope, count, listed in data["overdue"]
        ],
        common_problems=[
            Problem(Action(action), reason_code, count, examples)
            for action, reason_code, count, examples in data["common_problems"]
        ],
        passes_issued=issued,
        passes_active=active,
        passes_revoked=revoked,
        scans_total=data["scans_total"],
        scan_hours=[datetime.fromisoformat(hour) for hour in data["scan_hours"]],
        scans=[
            CheckpointScans(ident, code, name, total, per_hour)
            for ident, code, name, total, per_hour in data["scans"]
        ],
        verdicts=dict(data["verdicts"]),
        anomalies=data["anomalies"],
    )
