"""The rows of the supervision CSV exports (applications, scans), streamed in keyset batches:
never ID numbers, phones or emails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from permits.extensions import db
from permits.models import Application, Checkpoint, Enterprise, Kind, Pass, ScanEvent
from permits.workflow import State

#: An export covers at most this many days.
MAX_EXPORT_DAYS = 366


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
