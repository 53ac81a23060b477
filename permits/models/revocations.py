"""Mass revocations: asked for by one admin with a preview of the count, run after a second
admin confirms it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from permits.models.applications import CargoCategory
from permits.models.base import Base, string_enum, utcnow

if TYPE_CHECKING:
    from permits.models.accounts import Enterprise, User


class MassRevocationStatus(enum.StrEnum):
    #: Asked for; waits for a second admin.
    PENDING = "pending"
    #: Confirmed by a second admin and carried out.
    DONE = "done"
    #: Withdrawn by its requester or declined by another admin.
    CANCELLED = "cancelled"


class MassRevocation(Base):
    """Revoke every active pass matching the criteria (all given criteria must match)."""

    __tablename__ = "mass_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[MassRevocationStatus] = mapped_column(
        string_enum(MassRevocationStatus), default=MassRevocationStatus.PENDING
    )
    #: Criteria: the pass's issuing district, its cargo category, its enterprise, issue window.
    district: Mapped[str | None] = mapped_column(String(6))
    cargo_category: Mapped[CargoCategory | None] = mapped_column(string_enum(CargoCategory))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    issued_from: Mapped[date | None]
    issued_until: Mapped[date | None]
    reason: Mapped[str] = mapped_column(String(500))
    #: How many passes matched when it was asked for (the preview the requester saw).
    preview_count: Mapped[int] = mapped_column(default=0)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    #: How many passes were revoked when it ran.
    revoked_count: Mapped[int | None]

    enterprise: Mapped[Enterprise | None] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
