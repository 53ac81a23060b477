"""Applications, their drivers and attachments, the decisions on them, and the workflow chains."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from permits.models.base import Base, string_enum, utcnow
from permits.workflow import Action, State

if TYPE_CHECKING:
    from permits.models.accounts import Department, Enterprise, User


class Kind(enum.StrEnum):
    WORK_RESUMPTION = "work_resumption"
    VEHICLE_PASS = "vehicle_pass"  # noqa: S105 - a kind, not a password


class VehicleType(enum.StrEnum):
    HEAVY_TRUCK = "heavy_truck"
    LIGHT_TRUCK = "light_truck"
    VAN = "van"
    REFRIGERATED_TRUCK = "refrigerated_truck"
    TANKER = "tanker"
    CAR = "car"
    BUS = "bus"


class CargoCategory(enum.StrEnum):
    """The national key-supply list."""

    MEDICAL = "medical"
    DAILY_NECESSITIES = "daily_necessities"
    RESERVES = "reserves"
    POSTAL = "postal"
    AGRICULTURE = "agriculture"
    ENERGY = "energy"
    RAW_MATERIALS = "raw_materials"
    INDUSTRIAL = "industrial"
    FOREIGN_TRADE = "foreign_trade"


class ScopeRule(enum.StrEnum):
    #: The department of the application's district signs (the site, or a vehicle's origin).
    DISTRICT = "district"
    #: The city-wide department signs.
    CITY = "city"


#: A step whose department is this value is signed by the department for the cargo category.
BY_CARGO = "by_cargo"


class Workflow(Base):
    """One version of a kind's chain of steps; applications keep the version they started on."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(string_enum(Kind))
    version: Mapped[int]
    is_current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    steps: Mapped[list[WorkflowStep]] = relationship(
        back_populates="workflow", order_by="WorkflowStep.position", cascade="all, delete-orphan"
    )


class WorkflowStep(Base):
    __tablename__ = "workflow_steps"
    __table_args__ = (UniqueConstraint("workflow_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    #: 1 for the first step.
    position: Mapped[int]
    #: A department code, or BY_CARGO.
    department_code: Mapped[str] = mapped_column(String(32))
    scope_rule: Mapped[ScopeRule] = mapped_column(string_enum(ScopeRule))
    sla_hours: Mapped[int]

    workflow: Mapped[Workflow] = relationship(back_populates="steps")


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # The approvers' queue: what waits at a department's step, soonest due first.
        Index(
            "ix_applications_queue",
            "current_department_code",
            "current_scope",
            "step_due_at",
            "id",
        ),
        Index("ix_applications_enterprise", "enterprise_id", "id"),
        Index("ix_applications_status_kind", "status", "kind"),
        # Supervision: submissions per day, and what is overdue anywhere.
        Index("ix_applications_submitted_at", "submitted_at"),
        Index("ix_applications_status_due", "status", "step_due_at"),
        CheckConstraint("round >= 0", name="round_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(string_enum(Kind))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Only permits.services.reviews changes this, through workflow.next_state.
    status: Mapped[State] = mapped_column(string_enum(State), default=State.DRAFT)
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id"))
    #: How many times it was submitted; decisions are unique per (round, step).
    round: Mapped[int] = mapped_column(Integer, default=0)
    #: Position of the step it waits at while in review.
    current_step: Mapped[int | None]
    #: Who must sign the current step: department code and scope (district code or "city").
    current_department_code: Mapped[str | None] = mapped_column(String(32))
    current_scope: Mapped[str | None] = mapped_column(String(6))
    step_entered_at: Mapped[datetime | None]
    step_due_at: Mapped[datetime | None]
    #: Escalations sent for the current step: 0 none, 1 its approvers (past the SLA),
    #: 2 also the supervisors (past twice the SLA). Back to 0 whenever the step changes.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    #: The district that routes it: the site's district, or a vehicle's origin.
    district: Mapped[str] = mapped_column(String(6), index=True)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    #: Work resumption: resume_date; vehicle pass: valid_from.
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]

    # Work resumption.
    site_address: Mapped[str | None] = mapped_column(String(300))
    staff_on_site: Mapped[int | None]
    closed_loop: Mapped[bool | None] = mapped_column(Boolean)

    # Vehicle pass.
    plate: Mapped[str | None] = mapped_column(String(10), index=True)
    vehicle_type: Mapped[VehicleType | None] = mapped_column(string_enum(VehicleType))
    origin: Mapped[str | None] = mapped_column(String(6))
    destination: Mapped[str | None] = mapped_column(String(6))
    cargo_category: Mapped[CargoCategory | None] = mapped_column(string_enum(CargoCategory))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    #: When it reached a final state.
    closed_at: Mapped[datetime | None]
    #: The pass this application renews; that pass is superseded when this one's is issued.
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("passes.id", use_alter=True))
    #: The batch it was sent in, if it came with others (a file or a batch API call).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("application_batches.id"), index=True)

    enterprise: Mapped[Enterprise] = relationship()
    created_by: Mapped[User] = relationship()
    workflow: Mapped[Workflow | None] = relationship()
    batch: Mapped[ApplicationBatch | None] = relationship(back_populates="applications")
    drivers: Mapped[list[Driver]] = relationship(
        back_populates="application", order_by="Driver.position", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="application", order_by="Decision.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def is_vehicle_pass(self) -> bool:
        return self.kind is Kind.VEHICLE_PASS

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.kind} {self.status}>"


class Driver(Base):
    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(50))
    #: Resident ID number (GB 11643). Personal data: never logged, never in a QR or on a PDF.
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    phone: Mapped[str] = mapped_column(String(20))

    application: Mapped[Application] = relationship(back_populates="drivers")


class Decision(Base):
    """Append-only history: every submission, decision and withdrawal, with its comment."""

    __tablename__ = "decisions"
    __table_args__ = (
        # At most one decision per step and round: the last line of defence against races.
        UniqueConstraint("application_id", "round", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    #: The step decided; None for a submission or withdrawal.
    step: Mapped[int | None]
    action: Mapped[Action] = mapped_column(string_enum(Action))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="decisions")
    actor: Mapped[User] = relationship()
    department: Mapped[Department | None] = relationship()


class Attachment(Base):
    """An uploaded file, stored outside static/ under a server-made name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(40))
    #: The name the user gave the file, cleaned; only shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")


class ApplicationBatch(Base):
    """Applications an enterprise sent together (an uploaded file or one API call): one per
    vehicle, grouped so that approvers can see and decide them together."""

    __tablename__ = "application_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Where it came from: "upload" (a spreadsheet) or "api".
    source: Mapped[str] = mapped_column(String(10))
    #: The uploaded file's name, as the enterprise named it.
    filename: Mapped[str] = mapped_column(String(200), default="")
    #: The kept upload it was submitted from: unique, so that one upload makes one batch however
    #: many times its submit is pressed at once.
    upload_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    applications: Mapped[list[Application]] = relationship(
        back_populates="batch", order_by="Application.id"
    )
