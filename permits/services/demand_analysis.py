"""Common problems, for policy: tickets counted by week, category and district, and each
category's most frequent terms of the week with their change against the week before, so a
supervisor sees "封控 / 货车 / 通行证 / 房租" rising before anyone writes a report.

The terms were segmented when each ticket was filed (permits.terms); a report only counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from permits.extensions import db
from permits.models import Demand, DemandCategory
from permits.services.errors import ValidationFailed

#: The longest period one report covers: what is read stays bounded.
MAX_WEEKS = 13
#: Terms listed per category and week.
TOP_TERMS = 10


@dataclass(frozen=True)
class WeekCount:
    week: str
    category: DemandCategory
    district: str
    n: int


@dataclass(frozen=True)
class WeekTerm:
    category: DemandCategory
    week: str
    term: str
    #: Tickets of the category that week using the term (each ticket counts once).
    n: int
    #: n minus the same count the week before.
    change: int


@dataclass(frozen=True)
class Analysis:
    start: date
    end: date
    counts: list[WeekCount]
    terms: list[WeekTerm]


def week_of(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week of a moment in the service's time zone, as "2026-W49"."""
    year, week, _day = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def check_period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The period asked for (default: the last four weeks up to today), at most MAX_WEEKS."""
    end = end or today
    start = start or end - timedelta(weeks=4) + timedelta(days=1)
    if start > end:
        raise ValidationFailed(
            _l("Some fields need your attention."), {"from": str(_l("The start is after the end."))}
        )
    if (end - start).days + 1 > MAX_WEEKS * 7:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"to": str(_l("At most %(n)d weeks at a time.", n=MAX_WEEKS))},
        )
    return start, end


def analyse(start: date, end: date, *, zone: ZoneInfo, top: int = TOP_TERMS) -> Analysis:
    """The figures of the tickets filed from `start` to `end` (days in `zone`, inclusive); the
    week before `start` is read too, for the first week's changes."""
    since = datetime.combine(start - timedelta(days=7), time(0), zone)
    until = datetime.combine(end + timedelta(days=1), time(0), zone)
    first_week = week_of(datetime.combine(start, time(12), zone), zone)
    rows = db.session.execute(
        select(Demand.created_at, Demand.category, Demand.district, Demand.terms).where(
            Demand.created_at >= since, Demand.created_at < until
        )
    )
    counts: Counter[tuple[str, DemandCategory, str]] = Counter()
    by_week: dict[tuple[DemandCategory, str], Counter[str]] = {}
    for created_at, category, district, terms in rows:
        week = week_of(created_at, zone)
        if created_at.astimezone(zone).date() >= start:
            counts[(week, category, district)] += 1
        by_week.setdefault((category, week), Counter()).update(set(terms or ()))
    return Analysis(
        start=start,
        end=end,
        counts=[
            WeekCount(week, category, district, n)
            for (week, category, district), n in sorted(counts.items())
        ],
        terms=list(_top_terms(by_week, first_week, zone, top)),
    )


def _top_terms(
    by_week: dict[tuple[DemandCategory, str], Counter[str]],
    first_week: str,
    zone: ZoneInfo,
    top: int,
) -> Iterable[WeekTerm]:
    for (category, week), terms in sorted(by_week.items()):
        if week < first_week:
            continue  # only the baseline of the first week's changes
        before = by_week.get((category, _week_before(week, zone)), Counter())
        ranked = sorted(terms.items(), key=lambda item: (-item[1], item[0]))[:top]
        for term, n in ranked:
            yield WeekTerm(category, week, term, n, n - before.get(term, 0))


def _week_before(week: str, zone: ZoneInfo) -> str:
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    return week_of(datetime.combine(monday - timedelta(days=7), time(12), zone), zone)
