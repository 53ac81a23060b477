"""The scan log read back: an officer's history, a pass's scans, the flagged ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from permits import scan_log
from permits.extensions import db
from permits.models import Checkpoint, Pass, ScanEvent, User


def recent_scans(
    *, user: User | None = None, pass_id: int | None = None, limit: int = 50
) -> list[Any]:
    """Scans, newest first, with the pass number and checkpoint name."""
    scan_log.flush()
    query = (
        select(ScanEvent, Pass.number, Pass.plate, Checkpoint.name)
        .outerjoin(Pass, Pass.id == ScanEvent.pass_id)
        .outerjoin(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
        .order_by(ScanEvent.scanned_at.desc(), ScanEvent.id.desc())
        .limit(limit)
    )
    if user is not None:
        query = query.where(ScanEvent.user_id == user.id)
    if pass_id is not None:
        query = query.where(ScanEvent.pass_id == pass_id)
    return list(db.session.execute(query))


def anomalies(since: datetime, limit: int = 100) -> list[Any]:
    """Scans flagged as anomalies, newest first, for approvers and admins."""
    scan_log.flush()
    return list(
        db.session.execute(
            select(ScanEvent, Pass.number, Pass.plate, Checkpoint.name)
            .join(Pass, Pass.id == ScanEvent.pass_id)
            .outerjoin(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
            .where(ScanEvent.anomaly.is_not(None), ScanEvent.scanned_at >= since)
            .order_by(ScanEvent.scanned_at.desc())
            .limit(limit)
        )
    )
