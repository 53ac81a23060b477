"""The supervision figures, counted from the database: one source, so dashboard, API and tests
always agree. They take about a second at a city's scale (counts over millions of rows): page and
API serve them from a snapshot (`snapshot.current_figures`), not from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session, scoped_session

from permits.database import reading
from permits.models import Application, Checkpoint, Pass, PassStatus, ScanEvent
from permits.services.supervision.decisions import Problem, StepTime, common_problems, step_times
from permits.workflow import State

#: Submissions per day are shown for this many days, ending today.
DAYS = 30
#: Scans per checkpoint per hour are shown for this many hours, ending now.
HOURS = 24
#: Anomalies are counted over the same week the anomalies page lists.
ANOMALY_WINDOW = timedelta(days=7)
#: Overdue applications listed by name on the dashboard (the counts cover all of them).
OVERDUE_LISTED = 200

#: Where the figures are read from: the replica's own session, or the request's.
Reader = Session | scoped_session[Any]


@dataclass(frozen=True)
class OverdueDepartment:
    department_code: str
    scope: str
    count: int
    #: The most overdue of them (at most OVERDUE_LISTED over all departments): id and due time.
    applications: list[tuple[int, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointScans:
    checkpoint_id: int | None
    code: str
    name: str
    total: int
    #: Scans per hour, oldest hour first (HOURS values).
    per_hour: list[int]


@dataclass(frozen=True)
class Figures:
    generated_at: datetime
    by_state: dict[str, int]
    by_kind: dict[str, int]
    by_district: dict[str, int]
    #: (local date, submissions) for the last DAYS days, oldest first.
    per_day: list[tuple[date, int]]
    steps: list[StepTime]
    overdue_total: int
    overdue: list[OverdueDepartment]
    common_problems: list[Problem]
    passes_issued: int
    passes_active: int
    passes_revoked: int
    scans_total: int
    #: The start of each hour of the scan chart, oldest first.
    scan_hours: list[datetime]
    scans: list[CheckpointScans]
    verdicts: dict[str, int]
    anomalies: int


def compute(now: datetime, *, zone: ZoneInfo) -> Figures:
    """Every supervision figure at `now`; days are calendar days in the service's time zone.
    Read from the replica when there is one (READ_DATABASE_URL): figures may lag by its delay."""
    with reading() as session:
        return compute_in(session, now, zone)


def compute_in(session: Reader, now: datetime, zone: ZoneInfo) -> Figures:
    """The figures read in `session`: the snapshot's refresh reads them in one of its own."""
    overdue_counts = _overdue_counts(session, now)
    scan_hours, scans, verdicts = _scans(session, now)
    passes = _passes(session, now)
    by_state, by_kind, by_district = _by_state_kind_and_district(session)
    return Figures(
        generated_at=now,
        by_state=by_state,
        by_kind=by_kind,
        by_district=by_district,
        per_day=_per_day(session, now, zone),
        steps=step_times(now, session=session),
        overdue_total=sum(d.count for d in overdue_counts),
        overdue=overdue_counts,
        common_problems=common_problems(now, session=session),
        passes_issued=passes["issued"],
        passes_active=passes["active"],
        passes_revoked=passes["revoked"],
        scans_total=sum(c.total for c in scans),
        scan_hours=scan_hours,
        scans=scans,
        verdicts=verdicts,
        anomalies=session.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.anomaly.is_not(None), ScanEvent.scanned_at >= now - ANOMALY_WINDOW)
        )
        or 0,
    )


def _by_state_kind_and_district(
    session: Reader,
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """One GROUP BY over the applications (a few hundred rows at most), summed three ways: one
    read of the table instead of one per breakdown."""
    totals: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
    for state, kind, district, count in session.execute(
        select(Application.status, Application.kind, Application.district, func.count()).group_by(
            Application.status, Application.kind, Application.district
        )
    ):
        for counts, key in zip(totals, (str(state), str(kind), str(district)), strict=True):
            counts[key] = counts.get(key, 0) + int(count)

    def most_first(counts: dict[str, int]) -> dict[str, int]:
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    by_state, by_kind, by_district = totals
    return most_first(by_state), most_first(by_kind), most_first(by_district)


def _bucket(session: Reader, column: Any, start: datetime, width: timedelta) -> ColumnElement[int]:
    """Which bucket of `width` after `start` a time falls in (0, 1, …), computed in SQL: one
    GROUP BY on it reads each row once, where a conditional sum per bucket evaluated every
    bucket's condition on every row (24 or 30 of them: most of the dashboard's time at city
    scale). Whole seconds since the epoch, so the boundaries are exact on both databases."""
    if session.get_bind().dialect.name == "sqlite":
        seconds: ColumnElement[int] = cast(func.strftime("%s", column), Integer)
    else:
        seconds = cast(func.floor(func.extract("epoch", column)), BigInteger)
    return (seconds - int(start.timestamp())) // int(width.total_seconds())


def _per_day(session: Reader, now: datetime, zone: ZoneInfo) -> list[tuple[date, int]]:
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    starts = [datetime.combine(day, time(), tzinfo=zone).astimezone(UTC) for day in days]
    # A day is taken as 24 h: exact in zones without daylight saving (Asia/Shanghai).
    day = _bucket(session, Application.submitted_at, starts[0], timedelta(days=1)).label("day")
    counts = [0] * DAYS
    for index, count in session.execute(
        select(day, func.count()).where(Application.submitted_at >= starts[0]).group_by(day)
    ):
        if 0 <= index < DAYS:
            counts[index] += int(count)
    return list(zip(days, counts, strict=True))


def _overdue_counts(session: Reader, now: datetime) -> list[OverdueDepartment]:
    """Overdue applications per signing department, the most overdue department first."""
    overdue = and_(Application.status == State.IN_REVIEW, Application.step_due_at < now)
    counted = session.execute(
        select(Application.current_department_code, Application.current_scope, func.count())
        .where(overdue)
        .group_by(Application.current_department_code, Application.current_scope)
        .order_by(
            func.count().desc(),
            Application.current_department_code,
            Application.current_scope,
        )
    ).all()
    listed: dict[tuple[str, str], list[tuple[int, datetime]]] = {}
    for ident, code, scope, due in session.execute(
        select(
            Application.id,
            Application.current_department_code,
            Application.current_scope,
            Application.step_due_at,
        )
        .where(overdue)
        .order_by(Application.step_due_at, Application.id)
        .limit(OVERDUE_LISTED)
    ):
        listed.setdefault((code or "", scope or ""), []).append((ident, due or now))
    return [
        OverdueDepartment(
            code or "", scope or "", int(count), listed.get((code or "", scope or ""), [])
        )
        for code, scope, count in counted
    ]


def _passes(session: Reader, now: datetime) -> dict[str, int]:
    row = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(Pass.status == PassStatus.ACTIVE, Pass.expires_at > now),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
            func.coalesce(func.sum(case((Pass.status == PassStatus.REVOKED, 1), else_=0)), 0),
        ).select_from(Pass)
    ).one()
    return {"issued": int(row[0]), "active": int(row[1]), "revoked": int(row[2])}


def _scans(
    session: Reader, now: datetime
) -> tuple[list[datetime], list[CheckpointScans], dict[str, int]]:
    """Scans of the last HOURS hours per checkpoint and hour, and the mix of verdicts."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    starts = [this_hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    hour = _bucket(session, ScanEvent.scanned_at, starts[0], timedelta(hours=1)).label("hour")
    per_hour: dict[int | None, list[int]] = {}
    totals: dict[int | None, int] = {}
    verdicts: dict[str, int] = {}
    for checkpoint_id, index, result, count in session.execute(
        select(ScanEvent.checkpoint_id, hour, ScanEvent.result, func.count())
        .where(ScanEvent.scanned_at >= starts[0])
        .group_by(ScanEvent.checkpoint_id, hour, ScanEvent.result)
    ):
        counts = per_hour.setdefault(checkpoint_id, [0] * HOURS)
        if 0 <= index < HOURS:
            counts[index] += int(count)
        totals[checkpoint_id] = totals.get(checkpoint_id, 0) + int(count)
        verdicts[str(result)] = verdicts.get(str(result), 0) + int(count)
    known = {
        ident: (code, name)
        for ident, code, name in session.execute(
            select(Checkpoint.id, Checkpoint.code, Checkpoint.name).where(
                Checkpoint.id.in_([i for i in totals if i is not None])
            )
        )
    }
    scans = [
        CheckpointScans(
            checkpoint_id=ident,
            code=known.get(ident, ("", ""))[0] if ident is not None else "",
            name=known.get(ident, ("", ""))[1] if ident is not None else "",
            total=totals[ident],
            per_hour=per_hour[ident],
        )
        for ident in totals
    ]
    scans.sort(key=lambda c: (-c.total, c.code))
    return starts, scans, dict(sorted(verdicts.items(), key=lambda item: (-item[1], item[0])))
