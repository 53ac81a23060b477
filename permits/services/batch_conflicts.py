"""The one-vehicle-one-pass rule within one batch (sent through the API, or one spreadsheet):
a later application that repeats an earlier one's plate, or puts its driver on another vehicle,
for overlapping days, is told which. Pure Python over the fields: what is stored is checked by
`conflicts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from permits.services.conflict_keys import as_date, driver_ids, plate_of


def batch_conflicts(
    rows: Sequence[Mapping[str, Any] | None], label: Callable[[int], str] | None = None
) -> list[dict[str, str]]:
    """Within one batch: field → message per row, naming the earlier row with the same plate,
    or a driver on another plate, for overlapping days. A None row (one that failed its own
    validation) is skipped; `label(index)` names a row in messages (default: "item <index>")."""
    found: list[dict[str, str]] = [{} for _ in rows]
    # Earlier rows indexed by plate and by driver: each row is compared only with the rows that
    # share something with it, so a file of 10,000 rows takes linear time.
    by_plate: dict[str, list[tuple[int, date, date]]] = {}
    by_driver: dict[str, list[tuple[int, str | None, date, date]]] = {}

    def name(earlier: int) -> str:
        return label(earlier) if label is not None else str(_l("item %(n)d", n=earlier))

    for index, row in enumerate(rows):
        if row is None:
            continue
        start, end = as_date(row.get("valid_from")), as_date(row.get("valid_until"))
        if start is None or end is None or end < start:
            continue
        plate = plate_of(row.get("plate"))
        drivers = driver_ids(row.get("drivers"))
        if plate is not None:
            earlier = _same_plate(by_plate.get(plate, ()), start, end)
            if earlier is not None:
                found[index]["plate"] = str(
                    _l(
                        "The same vehicle is in %(other)s of this batch, for overlapping dates.",
                        other=name(earlier),
                    )
                )
        for i, id_number in drivers:
            earlier = _same_driver(by_driver.get(id_number, ()), plate, start, end)
            if earlier is not None:
                found[index][f"drivers.{i}.id_number"] = str(
                    _l(
                        "This driver is also on another vehicle in %(other)s of this batch, "
                        "for overlapping dates.",
                        other=name(earlier),
                    )
                )
        if plate is not None:
            by_plate.setdefault(plate, []).append((index, start, end))
        for _i, id_number in drivers:
            by_driver.setdefault(id_number, []).append((index, plate, start, end))
    return found


def _same_plate(
    earlier_rows: Iterable[tuple[int, date, date]], start: date, end: date
) -> int | None:
    """The first earlier row of this plate whose days overlap [start, end]."""
    for earlier, other_start, other_end in earlier_rows:
        if other_start <= end and start <= other_end:
            return earlier
    return None


def _same_driver(
    earlier_rows: Iterable[tuple[int, str | None, date, date]],
    plate: str | None,
    start: date,
    end: date,
) -> int | None:
    """The first earlier row with this driver on another vehicle, whose days overlap."""
    for earlier, other_plate, other_start, other_end in earlier_rows:
        same_vehicle = plate is not None and plate == other_plate
        if not same_vehicle and other_start <= end and start <= other_end:
            return earlier
    return None
