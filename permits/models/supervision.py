"""The supervision figures as last computed: the dashboard and GET /api/v1/stats serve them while
they are fresh, so that no page waits for counts over millions of rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from permits.models.base import Base


class SupervisionSnapshot(Base):
    """One row (SNAPSHOT_ID), rewritten by each refresh; never touched by decisions or
    submissions, so it adds no lock to their transactions."""

    __tablename__ = "supervision_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The figures (services.supervision.snapshot.snapshot_of); None until the first refresh
    #: finished.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The time the figures are exact at (when their computation started).
    computed_at: Mapped[datetime | None]
    #: Set while a refresh runs: the others keep serving the figures above meanwhile.
    refreshing_since: Mapped[datetime | None]


#: The row every refresh rewrites.
SNAPSHOT_ID = 1
