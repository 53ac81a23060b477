"""Demand tickets: a difficulty an enterprise reports, who handles it, and its whole history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from permits.demand_workflow import DemandAction, DemandState
from permits.models.base import Base, string_enum, utcnow

if TYPE_CHECKING:
    from permits.models.accounts import Department, Enterprise, User


class DemandCategory(enum.StrEnum):
    """What the difficulty is about (DESIGN.md, "Demand tickets")."""

    STAFF_RETURN = "staff_return"
    LOGISTICS = "logistics"
    SUPPLY_CHAIN = "supply_chain"
    PREVENTION_SUPPLIES = "prevention_supplies"
    TESTING = "testing"
    #: Rent, tax, loans.
    FINANCE = "finance"
    UTILITIES = "utilities"
    POLICY = "policy"
    OTHER = "other"


#: The lengths of a ticket's texts, read by the schema, the form and the service alike.
TITLE_MAX = 100
DESCRIPTION_MAX = 2000
RESPONSE_MAX = 2000
REASON_MAX = 500


class DemandRouting(Base):
    """One version of the table "category → lead department"; tickets keep the version that
    routed them. Admins edit it; every save is a new version."""

    __tablename__ = "demand_routings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    is_current: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    routes: Mapped[list[DemandRoute]] = relationship(
        back_populates="routing", order_by="DemandRoute.category", cascade="all, delete-orphan"
    )


class DemandRoute(Base):
    __tablename__ = "demand_routes"
    __table_args__ = (UniqueConstraint("routing_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    routing_id: Mapped[int] = mapped_column(ForeignKey("demand_routings.id", ondelete="CASCADE"))
    category: Mapped[DemandCategory] = mapped_column(string_enum(DemandCategory, length=32))
    #: The lead department's code; the ticket goes to that department of its district.
    department_code: Mapped[str] = mapped_column(String(32))

    routing: Mapped[DemandRouting] = relationship(back_populates="routes")


class Demand(Base):
    __tablename__ = "demands"
    __table_args__ = (
        # A department's queue: what it holds, soonest due first.
        Index("ix_demands_queue", "department_code", "scope", "status", "due_at", "id"),
        Index("ix_demands_enterprise", "enterprise_id", "id"),
        # Supervision and the weekly analysis: tickets filed in a period.
        Index("ix_demands_created_at", "created_at"),
        Index("ix_demands_status_due", "status", "due_at"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_1_to_5"),
        CheckConstraint("transfers >= 0", name="transfers_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[DemandCategory] = mapped_column(string_enum(DemandCategory, length=32))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text)
    #: The enterprise's district: its department of the lead code handles the ticket.
    district: Mapped[str] = mapped_column(String(6), index=True)
    #: The words of its title and description (permits.terms), for the common-problems
    #: analysis: segmented once when filed, not again for every report.
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Optionally, the enterprise's application or pass the difficulty is about.
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("passes.id"))

    #: Only services.demands changes this, through demand_workflow.next_state.
    status: Mapped[DemandState] = mapped_column(string_enum(DemandState, length=32))
    #: Grows by one with every change, so a change made on a stale view is refused (409).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("demand_routings.id"))
    #: Who holds it: a department code and scope (district code or "city"); none while it
    #: waits for the supervisors.
    department_code: Mapped[str | None] = mapped_column(String(32))
    scope: Mapped[str | None] = mapped_column(String(6))
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    #: When the holder's current task (accepting, then answering) is due, and since when it
    #: runs: past twice that time, the supervisors are told (services.demand_escalation).
    due_at: Mapped[datetime | None]
    due_from: Mapped[datetime | None]
    #: 0 none, 1 the holding department told it is overdue, 2 the supervisors too.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: The enterprise's rating of the handling (1-5) when it confirmed the ticket solved.
    rating: Mapped[int | None]

    enterprise: Mapped[Enterprise] = relationship()
    created_by: Mapped[User] = relationship()
    events: Mapped[list[DemandEvent]] = relationship(
        back_populates="demand", order_by="DemandEvent.id", cascade="all, delete-orphan"
    )
    copies: Mapped[list[DemandCopy]] = relationship(
        back_populates="demand", cascade="all, delete-orphan"
    )
    files: Mapped[list[DemandFile]] = relationship(
        back_populates="demand", order_by="DemandFile.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Demand {self.id} {self.category} {self.status}>"


class DemandEvent(Base):
    """One entry of a ticket's history: a state change, a transfer, a copy or a note."""

    __tablename__ = "demand_events"
    __table_args__ = (Index("ix_demand_events_demand", "demand_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    #: A DemandAction, or "note" / "copy" (demand_workflow.DemandNote).
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: The response, reason, note or comment the actor wrote.
    text: Mapped[str] = mapped_column(Text, default="")
    #: Facts of the event: the departments of a transfer or copy, the rating.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    department: Mapped[Department | None] = relationship()

    @property
    def is_state_change(self) -> bool:
        return self.action in set(DemandAction)


class DemandCopy(Base):
    """A co-handling department: it sees the ticket and may add notes."""

    __tablename__ = "demand_copies"

    demand_id: Mapped[int] = mapped_column(
        ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="copies")
    department: Mapped[Department] = relationship()


class DemandFile(Base):
    """A file attached to a ticket or to one of its events (an answer's evidence); stored like
    an application's attachments, under a name the server makes up."""

    __tablename__ = "demand_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("demand_events.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="files")
