"""Deadlines in office hours: what an enterprise filing on a Friday evening is promised."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from permits.working_time import WorkingWeek, add_working_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = WorkingWeek(SHANGHAI)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026 in Shanghai: the 7th is a Monday."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (at(7, 10), at(7, 14)),  # Monday morning: the same afternoon
        (at(7, 16), at(8, 11)),  # two hours today, two tomorrow
        (at(7, 7, 30), at(7, 13)),  # before opening: counted from 9:00
        (at(7, 20), at(8, 13)),  # after closing: from tomorrow's opening
        (at(11, 17), at(14, 12)),  # Friday 17:00: one hour, then Monday
        (at(12, 11), at(14, 13)),  # Saturday: from Monday's opening
        (at(7, 14), at(7, 18)),  # ends exactly at closing time
    ],
)
def test_four_working_hours_later(start: datetime, due: datetime) -> None:
    assert add_working_hours(start, 4, WEEK) == due


def test_the_answer_is_in_the_zone_of_the_question() -> None:
    start = at(7, 10).astimezone(UTC)
    due = add_working_hours(start, 4, WEEK)
    assert due.tzinfo is UTC and due == at(7, 14)


def test_a_seven_day_week_counts_weekends() -> None:
    every_day = WorkingWeek(SHANGHAI, weekdays=frozenset(range(7)))
    assert add_working_hours(at(11, 17), 4, every_day) == at(12, 12)


def test_a_naive_start_or_an_inside_out_day_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_working_hours(datetime(2026, 12, 7, 10), 4, WEEK)
    with pytest.raises(ValueError, match="ends after it starts"):
        WorkingWeek(SHANGHAI, start=at(7, 18).time(), end=at(7, 9).time())
