"""The supervision figures read from the decision history: hours per step and the common
problems (returns and rejections), both from a bounded window of the newest decisions."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from permits.extensions import db
from permits.models import Application, Decision, Department, Kind
from permits.workflow import Action

if TYPE_CHECKING:
    from permits.services.supervision.figures import Reader

#: Decision times and common problems are read from the decisions of this many days.
DECISION_WINDOW = timedelta(days=90)
#: At most this many decisions feed the medians (the newest): bounds the dashboard's time and
#: memory at city scale, and is a large enough sample for a median and a 90th percentile.
MAX_TIMED_DECISIONS = 20_000
#: Common problems shown, and example comments for each.
PROBLEMS_SHOWN = 10
EXAMPLES_PER_PROBLEM = 3

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
class Problem:
    action: Action
    #: The coded reason of a rejection; None for returns (they carry a comment only).
    reason_code: str | None
    count: int
    examples: list[str]


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
