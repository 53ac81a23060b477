"""Supervision: the figures of the dashboard and of GET /api/v1/stats, escalation of overdue
work, and the rows of the CSV exports. One source, so page, API and tests always agree.

The figures take about a second to compute at a city's scale (counts over millions of rows), so
page and API serve them from a snapshot (`current_figures`) refreshed at most once per max age,
by a timer (`flask supervision refresh`) or by the first request that finds it stale.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from permits import audit
from permits.database import read_engine, reading, write_intent
from permits.extensions import db
from permits.models import (
    SNAPSHOT_ID,
    Application,
    Checkpoint,
    Decision,
    Department,
    Enterprise,
    Kind,
    Pass,
    PassStatus,
    Role,
    ScanEvent,
    SupervisionSnapshot,
    User,
)
from permits.services import notifications
from permits.workflow import Action, State

#: Submissions per day are shown for this many days, ending today.
DAYS = 30
#: Scans per checkpoint per hour are shown for this many hours, ending now.
HOURS = 24
#: Decision times and common problems are read from the decisions of this many days.
DECISION_WINDOW = timedelta(days=90)
#: At most this many decisions feed the medians (the newest): bounds the dashboard's time and
#: memory at city scale, and is a large enough sample for a median and a 90th percentile.
MAX_TIMED_DECISIONS = 20_000
#: Anomalies are counted over the same week the anomalies page lists.
ANOMALY_WINDOW = timedelta(days=7)
#: Overdue applications listed by name on the dashboard (the counts cover all of them).
OVERDUE_LISTED = 200
#: Common problems shown, and example comments for each.
PROBLEMS_SHOWN = 10
EXAMPLES_PER_PROBLEM = 3
#: An export covers at most this many days.
MAX_EXPORT_DAYS = 366

#: Where the figures are read from: the replica's own session, or the request's.
Reader = Session | scoped_session[Any]

# Long runs of digits (phone and ID numbers) are cut from example comments.
_PERSONAL_NUMBER = re.compile(r"[0-9][0-9 \-]{5,}[0-9Xx]")


@dataclass(frozen=True)
class StepTime:
    kind: Kind
    step: int
    department: str
    decisions: int
    #: Hours from entering the step to its decision.
    median: float
    p90: float


@dataclass(frozen=True)
class OverdueDepartment:
    department_code: str
    scope: str
    count: int
    #: The most overdue of them (at most OVERDUE_LISTED over all departments): id and due time.
    applications: list[tuple[int, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    action: Action
    #: The coded reason of a rejection; None for returns (they carry a comment only).
    reason_code: str | None
    count: int
    examples: list[str]


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


def figures(now: datetime, *, zone: ZoneInfo) -> Figures:
    """Every supervision figure at `now`; days are calendar days in the service's time zone.
    Read from the replica when there is one (READ_DATABASE_URL): figures may lag by its delay."""
    with reading() as session:
        return _figures(session, now, zone)


def _figures(session: Reader, now: datetime, zone: ZoneInfo) -> Figures:
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


# --- the snapshot the dashboard and the API serve ------------------------------------------

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
        return _figures(session, now, zone)


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


def as_json(f: Figures) -> dict[str, Any]:
    """The figures as GET /api/v1/stats answers them (hours for durations, ISO 8601 times)."""
    return {
        "generated_at": f.generated_at.isoformat(),
        "passes_issued": f.passes_issued,
        "passes_active": f.passes_active,
        "passes_revoked": f.passes_revoked,
        "applications": {
            "by_state": f.by_state,
            "by_kind": f.by_kind,
            "by_district": f.by_district,
            "per_day": [{"date": d.isoformat(), "submitted": n} for d, n in f.per_day],
        },
        "steps": [
            {
                "kind": s.kind.value,
                "step": s.step,
                "department": s.department,
                "decisions": s.decisions,
                "median": s.median,
                "p90": s.p90,
            }
            for s in f.steps
        ],
        "overdue": {
            "total": f.overdue_total,
            "by_department": [
                {
                    "department": d.department_code,
                    "scope": d.scope,
                    "count": d.count,
                    "applications": [ident for ident, _due in d.applications],
                }
                for d in f.overdue
            ],
        },
        "common_problems": [
            {
                "action": p.action.value,
                "reason_code": p.reason_code,
                "count": p.count,
                "examples": p.examples,
            }
            for p in f.common_problems
        ],
        "scans": {
            "total": f.scans_total,
            "hours": [h.isoformat() for h in f.scan_hours],
            "by_checkpoint": [
                {
                    "checkpoint": c.code or None,
                    "name": c.name,
                    "total": c.total,
                    "per_hour": c.per_hour,
                }
                for c in f.scans
            ],
            "verdicts": f.verdicts,
        },
        "anomalies": f.anomalies,
    }


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


def _percentile(values: list[float], share: float) -> float:
    """The `share` quantile, interpolated between the nearest ranks (as numpy's default)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def step_times(now: datetime, *, session: Reader | None = None) -> list[StepTime]:
    """Hours from entering a step to its decision, per kind, step and signing department.

    A step starts at the entry before it in the same round: the submission for step 1, the
    approval of the step before for the others (found through the unique (application, round,
    step) index). Median and 90th percentile need every duration, so they are computed here in
    Python from a bounded window: the newest MAX_TIMED_DECISIONS decisions (read backwards along
    the primary key), of which those of the last DECISION_WINDOW count.
    """
    session = session or db.session
    recent = _newest_decisions()
    before = aliased(Decision)
    rows = session.execute(
        select(
            Application.kind,
            recent.c.step,
            Department.code,
            recent.c.created_at,
            before.created_at,
        )
        .select_from(recent)
        .join(
            before,
            and_(
                before.application_id == recent.c.application_id,
                before.round == recent.c.round,
                or_(
                    and_(recent.c.step > 1, before.step == recent.c.step - 1),
                    and_(recent.c.step == 1, before.action == Action.SUBMIT),
                ),
            ),
        )
        .join(Application, Application.id == recent.c.application_id)
        .join(Department, Department.id == recent.c.department_id)
        .where(recent.c.created_at >= now - DECISION_WINDOW)
    )
    durations: dict[tuple[Kind, int, str], list[float]] = {}
    for kind, step, department, decided_at, started_at in rows:
        hours = (decided_at - started_at).total_seconds() / 3600
        durations.setdefault((Kind(kind), int(step), str(department)), []).append(hours)
    return [
        StepTime(
            kind=kind,
            step=step,
            department=department,
            decisions=len(values),
            median=round(statistics.median(values), 2),
            p90=round(_percentile(values, 0.9), 2),
        )
        for (kind, step, department), values in sorted(durations.items())
    ]


def _without_personal_numbers(comment: str) -> str:
    return _PERSONAL_NUMBER.sub("…", comment.strip())[:200]


def _newest_decisions() -> Any:
    """The newest MAX_TIMED_DECISIONS decisions at a step, read backwards along the primary key:
    what the decision figures are computed from, whatever the size of the history."""
    return (
        select(
            Decision.id,
            Decision.application_id,
            Decision.round,
            Decision.step,
            Decision.action,
            Decision.reason_code,
            Decision.comment,
            Decision.department_id,
            Decision.created_at,
        )
        .where(Decision.step.is_not(None))  # approve, return, reject (not submit, withdraw)
        .order_by(Decision.id.desc())
        .limit(MAX_TIMED_DECISIONS)
        .subquery()
    )


def common_problems(now: datetime, *, session: Reader | None = None) -> list[Problem]:
    """The most frequent reasons for returns and rejections lately, with a few example comments."""
    session = session or db.session
    recent = _newest_decisions()
    lately = and_(
        recent.c.action.in_([Action.RETURN, Action.REJECT]),
        recent.c.created_at >= now - DECISION_WINDOW,
    )
    counted = session.execute(
        select(recent.c.action, recent.c.reason_code, func.count())
        .where(lately)
        .group_by(recent.c.action, recent.c.reason_code)
        .order_by(func.count().desc(), recent.c.action, recent.c.reason_code)
        .limit(PROBLEMS_SHOWN)
    ).all()
    problems = []
    for action, reason_code, count in counted:
        same_reason = (
            recent.c.reason_code.is_(None)
            if reason_code is None
            else recent.c.reason_code == reason_code
        )
        comments = session.scalars(
            select(recent.c.comment)
            .where(lately, recent.c.action == action, same_reason, recent.c.comment != "")
            .group_by(recent.c.comment)
            .order_by(func.max(recent.c.id).desc())
            .limit(EXAMPLES_PER_PROBLEM)
        )
        problems.append(
            Problem(
                action=Action(action),
                reason_code=reason_code,
                count=int(count),
                examples=[_without_personal_numbers(c) for c in comments],
            )
        )
    return problems


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


# --- escalation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalated:
    #: Applications whose approvers were told they are overdue.
    to_approvers: int
    #: Applications the supervisors were told about (past twice their time limit).
    to_supervisors: int


#: Overdue applications looked at per run; the next run takes the rest.
ESCALATION_BATCH = 1000


def is_twice_overdue(application: Application, now: datetime) -> bool:
    """Past twice the step's time limit: the step has lasted twice as long as it was given."""
    entered, due = application.step_entered_at, application.step_due_at
    if entered is None or due is None:
        return False
    return now >= entered + 2 * (due - entered)


def escalate_overdue(now: datetime) -> Escalated:
    """Tells approvers of a step once it is overdue and every supervisor once it is past twice
    its time limit; each exactly once per step, also when two runs overlap."""
    candidates = db.session.scalars(
        select(Application)
        .where(
            Application.status == State.IN_REVIEW,
            Application.step_due_at < now,
            Application.escalation_level < 2,
        )
        .order_by(Application.step_due_at, Application.id)
        .limit(ESCALATION_BATCH)
        # The level as stored now, not as an object already in the session remembers it.
        .execution_options(populate_existing=True)
    ).all()
    supervisors: list[User] | None = None
    to_approvers = to_supervisors = 0
    for application in candidates:
        seen = application.escalation_level
        level = 2 if is_twice_overdue(application, now) else 1
        if level <= seen:
            continue
        # The UPDATE names the level, step and round we saw: of two runs, only one matches.
        claimed = db.session.execute(
            update(Application)
            .where(
                Application.id == application.id,
                Application.status == State.IN_REVIEW,
                Application.round == application.round,
                Application.current_step == application.current_step,
                Application.escalation_level == seen,
            )
            .values(escalation_level=level)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        set_committed_value(application, "escalation_level", level)
        params = {
            "step": application.current_step,
            "department": f"{application.current_department_code} ({application.current_scope})",
        }
        if seen == 0:
            notifications.notify(
                notifications.approvers_of(
                    application.current_department_code or "", application.current_scope or ""
                ),
                "overdue",
                application,
                **params,
            )
            to_approvers += 1
        if level == 2:
            if supervisors is None:
                supervisors = list(
                    db.session.scalars(
                        select(User).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
                    )
                )
            notifications.notify(supervisors, "overdue_twice", application, **params)
            to_supervisors += 1
        audit.record(
            "application.escalate",
            actor=None,
            obj=application,
            details={"level": level, "step": application.current_step},
            now=now,
        )
    db.session.flush()
    return Escalated(to_approvers=to_approvers, to_supervisors=to_supervisors)


# --- exports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilter:
    """What an export covers: `start` and `end` are instants (end excluded), at most
    MAX_EXPORT_DAYS apart."""

    start: datetime
    end: datetime
    state: State | None = None
    kind: Kind | None = None
    district: str | None = None


APPLICATION_COLUMNS = (
    "id",
    "kind",
    "state",
    "enterprise",
    "uscc",
    "district",
    "submitted_at",
    "closed_at",
    "current_step",
    "department",
    "scope",
    "overdue",
)
SCAN_COLUMNS = (
    "scanned_at",
    "checkpoint",
    "pass_number",
    "result",
    "method",
    "offline",
    "anomaly",
    "user_id",
)
#: Rows read per query while streaming an export.
EXPORT_BATCH = 1000


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def application_rows(filters: ExportFilter, now: datetime) -> Iterator[list[Any]]:
    """Applications submitted in the range, in id order, read in keyset batches.

    Never ID numbers or phones: the columns are APPLICATION_COLUMNS.
    """
    query = (
        select(
            Application.id,
            Application.kind,
            Application.status,
            Enterprise.name,
            Enterprise.uscc,
            Application.district,
            Application.submitted_at,
            Application.closed_at,
            Application.current_step,
            Application.current_department_code,
            Application.current_scope,
            Application.step_due_at,
        )
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .where(Application.submitted_at >= filters.start, Application.submitted_at < filters.end)
    )
    if filters.state is not None:
        query = query.where(Application.status == filters.state)
    if filters.kind is not None:
        query = query.where(Application.kind == filters.kind)
    if filters.district:
        query = query.where(Application.district == filters.district)
    last = 0
    while True:
        batch = db.session.execute(
            query.where(Application.id > last).order_by(Application.id).limit(EXPORT_BATCH)
        ).all()
        for row in batch:
            overdue = row.status == State.IN_REVIEW and row.step_due_at is not None
            yield [
                row.id,
                str(row.kind),
                str(row.status),
                row.name,
                row.uscc,
                row.district,
                _iso(row.submitted_at),
                _iso(row.closed_at),
                row.current_step or "",
                row.current_department_code or "",
                row.current_scope or "",
                "yes" if overdue and row.step_due_at < now else "no",
            ]
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].id


def scan_rows(filters: ExportFilter) -> Iterator[list[Any]]:
    """Scans in the range, in id order (the user by id only, never the email)."""
    query = (
        select(
            ScanEvent.id,
            ScanEvent.scanned_at,
            Checkpoint.code,
            Pass.number,
            ScanEvent.result,
            ScanEvent.method,
            ScanEvent.is_offline,
            ScanEvent.anomaly,
            ScanEvent.user_id,
        )
        .outerjoin(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
        .outerjoin(Pass, Pass.id == ScanEvent.pass_id)
        .where(ScanEvent.scanned_at >= filters.start, ScanEvent.scanned_at < filters.end)
    )
    if filters.district:
        query = query.where(Checkpoint.district == filters.district)
    last = 0
    while True:
        batch = db.session.execute(
            query.where(ScanEvent.id > last).order_by(ScanEvent.id).limit(EXPORT_BATCH)
        ).all()
        for row in batch:
            yield [
                _iso(row.scanned_at),
                row.code or "",
                row.number or "",
                row.result,
                row.method,
                "yes" if row.is_offline else "no",
                row.anomaly or "",
                row.user_id,
            ]
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].id
