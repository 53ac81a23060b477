"""Deadlines counted in working hours (a ticket must be accepted within 4 of them): a request
filed on Friday evening is due on Monday, not at midnight. Pure Python, no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkingWeek:
    """The office hours of the departments, in their time zone."""

    zone: ZoneInfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    #: Monday is 0.
    weekdays: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a working day ends after it starts")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("working days are some of 0 (Monday) to 6 (Sunday)")


def add_working_hours(start: datetime, hours: float, week: WorkingWeek) -> datetime:
    """The moment `hours` of office time after `start` (an aware datetime), in `start`'s zone."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    left = timedelta(hours=hours)
    local = start.astimezone(week.zone)
    while True:
        day_start = datetime.combine(local.date(), week.start, week.zone)
        day_end = datetime.combine(local.date(), week.end, week.zone)
        if local.weekday() in week.weekdays and local < day_end:
            local = max(local, day_start)
            if local + left <= day_end:
                return (local + left).astimezone(start.tzinfo)
            left -= day_end - local
        local = datetime.combine(local.date() + timedelta(days=1), week.start, week.zone)
