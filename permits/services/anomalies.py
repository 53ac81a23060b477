"""Suspicious scans: a pass seen at two checkpoints further apart than a vehicle could drive in
between, or scanned more often in an hour than a real journey would be."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, select

from permits.extensions import db
from permits.models import Checkpoint, ScanEvent


def window(checkpoint_id: int | None, now: datetime) -> dict[str, Any]:
    """The scans an anomaly check looks at: the last hour's (`since`), at most the hourly limit
    of them (`cap`), and which count as elsewhere than `here`."""
    return {
        "since": now - timedelta(hours=1),
        "cap": int(current_app.config["SCANS_PER_HOUR_LIMIT"]),
        "here": -1 if checkpoint_id is None else checkpoint_id,
    }


def _distance_km(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> float | None:
    """Great-circle distance between two (latitude, longitude) points, if both are known."""
    if None in (*a, *b):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def _latest_scans(pass_id: Any) -> Any:
    """The pass's latest scans of the last hour, at most as many as the hourly limit: however
    hot a pass, the anomaly check reads a bounded number of index entries."""
    return (
        select(ScanEvent.checkpoint_id)
        .where(ScanEvent.pass_id == pass_id, ScanEvent.scanned_at >= bindparam("since"))
        .order_by(ScanEvent.scanned_at.desc())
        .limit(bindparam("cap"))
        .subquery()
    )


def _scan_counts(latest: Any) -> Any:
    """One row: how many of those scans, and how many at another checkpoint than here."""
    elsewhere = and_(
        latest.c.checkpoint_id.is_not(None), latest.c.checkpoint_id != bindparam("here")
    )
    return select(
        func.count().label("recent"), func.count(case((elsewhere, 1))).label("elsewhere")
    ).select_from(latest)


_RECENT_SCANS = _scan_counts(_latest_scans(bindparam("pass_id")))

#: Where else the pass was seen in the last hour, latest first, with coordinates.
_SEEN_ELSEWHERE = (
    select(ScanEvent.scanned_at, Checkpoint.latitude, Checkpoint.longitude)
    .join(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
    .where(
        ScanEvent.pass_id == bindparam("pass_id"),
        ScanEvent.scanned_at >= bindparam("since"),
        ScanEvent.checkpoint_id != bindparam("here"),
    )
    .order_by(ScanEvent.scanned_at.desc())
    .limit(bindparam("cap"))
)


def judge(
    pass_id: int, recent: int, elsewhere: int, checkpoint_id: int | None, now: datetime
) -> str | None:
    """ "frequency", "distance" or None, given how many of the pass's scans of the window there
    were (`recent`) and how many of them at another checkpoint (`elsewhere`)."""
    scans = window(checkpoint_id, now)
    if recent + 1 > scans["cap"]:
        return "frequency"
    if checkpoint_id is None or not elsewhere:
        return None  # the common case costs no checkpoint lookups
    here = db.session.get(Checkpoint, checkpoint_id)
    if here is None or here.latitude is None or here.longitude is None:
        return None
    speed = float(current_app.config["MAX_PLAUSIBLE_SPEED_KMH"])
    seen = db.session.connection().execute(_SEEN_ELSEWHERE, {"pass_id": pass_id, **scans})
    for scanned_at, latitude, longitude in seen:
        distance = _distance_km((here.latitude, here.longitude), (latitude, longitude))
        hours = max((now - scanned_at).total_seconds() / 3600, 1 / 60)
        if distance is not None and distance / hours > speed:
            return "distance"
    return None


def anomaly(pass_id: int, checkpoint_id: int | None, now: datetime) -> str | None:
    """The anomaly, if any, of scanning this pass here now (see judge)."""
    values = {"pass_id": pass_id, **window(checkpoint_id, now)}
    recent, elsewhere = db.session.connection().execute(_RECENT_SCANS, values).one()
    return judge(pass_id, recent, elsewhere, checkpoint_id, now)
