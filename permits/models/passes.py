"""Issued passes, and the counters that number them and the revocation feed without gaps."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from permits.models.applications import Kind
from permits.models.base import Base, string_enum, utcnow

if TYPE_CHECKING:
    from permits.models.accounts import User
    from permits.models.applications import Application


class PassStatus(enum.StrEnum):
    ACTIVE = "active"
    #: Revoked by an approver or admin, or superseded by a renewal. (Expired is derived.)
    REVOKED = "revoked"


class Counter(Base):
    """A named counter, advanced with UPDATE … RETURNING: gapless and safe under concurrency."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Pass(Base):
    __tablename__ = "passes"
    __table_args__ = (
        UniqueConstraint("district", "serial"),
        Index("ix_passes_plate_status", "plate", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    #: 12 digits: the issuing district's code and a 6-digit serial.
    number: Mapped[str] = mapped_column(String(12), unique=True)
    district: Mapped[str] = mapped_column(String(6))
    serial: Mapped[int]
    #: 8 Crockford Base32 characters, the last a check character, for manual entry.
    control_code: Mapped[str] = mapped_column(String(8), unique=True)
    kind: Mapped[Kind] = mapped_column(string_enum(Kind))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    plate: Mapped[str | None] = mapped_column(String(10))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    #: The validity window as instants (nbf, exp of the token).
    not_before: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[PassStatus] = mapped_column(string_enum(PassStatus), default=PassStatus.ACTIVE)
    #: Hex of the 8-byte key id that signed the token.
    kid: Mapped[str] = mapped_column(String(16), index=True)
    #: The signed PP1 text, exactly as in the QR code.
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    #: Position in the revocation feed (GET /api/v1/revocations?since=N).
    revocation_seq: Mapped[int | None] = mapped_column(unique=True)
    #: The pass that replaced this one when it was renewed.
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("passes.id"))

    application: Mapped[Application] = relationship(foreign_keys=[application_id])
    revoked_by: Mapped[User | None] = relationship()

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def __repr__(self) -> str:
        return f"<Pass {self.number} {self.status}>"
