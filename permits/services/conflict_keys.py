"""What the one-vehicle-one-pass rule reads from an application's fields: its days, its plate and
its drivers' ID numbers, each normalised or dropped when it is not valid. The checks against
stored passes (`conflicts`), within one batch (`batch_conflicts`) and the locks taken before a
check (`conflict_locks`) read through here, so that what is held is what is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from permits import validators


def as_date(value: Any) -> date | None:
    """A date, a datetime's day or an ISO date text; None for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def plate_of(value: Any) -> str | None:
    """The normalised plate; None when it is not a valid one."""
    if isinstance(value, str) and validators.is_plate(value):
        return validators.normalize_plate(value)
    return None


def driver_ids(value: Any) -> list[tuple[int, str]]:
    """(position in the list, normalised ID number) of each driver with a valid ID number."""
    found: list[tuple[int, str]] = []
    if not isinstance(value, list):
        return found
    for i, driver in enumerate(value):
        raw = driver.get("id_number") if isinstance(driver, Mapping) else None
        id_number = validators.normalize_id_number(str(raw or ""))
        if raw and validators.id_number_problem(id_number) is None:
            found.append((i, id_number))
    return found
