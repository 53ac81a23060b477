"""Road checkpoints and site entrances where passes are verified."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from permits.models.base import Base, utcnow


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(6), index=True)
    #: WGS-84 coordinates, for telling impossible journeys between scans apart.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Checkpoint {self.code}>"


class ScanEvent(Base):
    """One verification: who checked which pass where, when, and the verdict. Append-only.

    The log keeps no foreign keys: it takes thousands of rows a second at a city's peak, and
    each key check locked the pass's, the user's and the checkpoint's row for every scan (the
    database server's largest cost per verification, docs/performance.md). The rows it names
    are never deleted (users and checkpoints are deactivated, passes revoked), and every row is
    written by this service with ids it has just read.
    """

    __tablename__ = "scan_events"
    __table_args__ = (
        Index("ix_scan_events_pass", "pass_id", "scanned_at"),
        Index("ix_scan_events_user", "user_id", "scanned_at"),
        Index("ix_scan_events_checkpoint", "checkpoint_id", "scanned_at"),
        # Supervision: scans of the last day, the anomaly list.
        Index("ix_scan_events_scanned_at", "scanned_at"),
        # Only offline scans have a client id: online ones add no entry to this index.
        Index(
            "uq_scan_events_client_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
            sqlite_where=text("client_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The pass, when the input named one we know.
    pass_id: Mapped[int | None]  # passes.id
    checkpoint_id: Mapped[int | None]  # checkpoints.id
    user_id: Mapped[int]  # users.id
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: One of the verification results (valid, revoked, ...).
    result: Mapped[str] = mapped_column(String(20))
    #: qr, code or plate.
    method: Mapped[str] = mapped_column(String(10))
    #: Decided by the scanner page without the network, uploaded later.
    is_offline: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The client's id for an offline scan, so a retried upload is stored once.
    client_id: Mapped[str | None] = mapped_column(String(40))
    #: Why the scan looked suspicious ("distance", "frequency"), if it did.
    anomaly: Mapped[str | None] = mapped_column(String(20))
