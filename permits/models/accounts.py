"""People and organisations: users, enterprises, departments and the API tokens of users."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from permits.models.base import Base, string_enum, utcnow

if TYPE_CHECKING:
    from permits.models.checkpoints import Checkpoint


class Role(enum.StrEnum):
    #: Staff of a registered enterprise; applies for permits.
    ENTERPRISE = "enterprise"
    #: Officer of a department with a scope; decides applications.
    APPROVER = "approver"
    #: Staff at a checkpoint; verifies passes.
    CHECKPOINT = "checkpoint"
    #: Operator of the service.
    ADMIN = "admin"
    #: City leadership; reads the supervision figures.
    SUPERVISOR = "supervisor"
    #: Officer of a department who handles demand tickets and never decides applications.
    HANDLER = "handler"


#: Department codes of DESIGN.md; the scope is a 6-digit district code or CITY_SCOPE.
DEPARTMENT_CODES = (
    "economy",
    "commerce",
    "health",
    "transport",
    "postal",
    "agriculture",
    "development_reform",
)
CITY_SCOPE = "city"


def new_session_nonce() -> str:
    return secrets.token_hex(16)


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unified social credit code, GB 32100-2015, upper case with its check character.
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    district: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: While set, the enterprise's active passes verify as revoked with suspended_reason.
    suspended_at: Mapped[datetime | None]
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    suspended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_enterprises_suspended_by_id_users")
    )

    users: Mapped[list[User]] = relationship(
        back_populates="enterprise", foreign_keys="User.enterprise_id"
    )

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def __repr__(self) -> str:
        return f"<Enterprise {self.uscc}>"


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("code", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    #: A 6-digit district code, or "city" for the whole city.
    scope: Mapped[str] = mapped_column(String(6))

    @property
    def is_city_wide(self) -> bool:
        return self.scope == CITY_SCOPE

    def __repr__(self) -> str:
        return f"<Department {self.code}@{self.scope}>"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role <> 'enterprise' OR enterprise_id IS NOT NULL", name="enterprise_has_enterprise"
        ),
        CheckConstraint(
            "role <> 'approver' OR department_id IS NOT NULL", name="approver_has_department"
        ),
        CheckConstraint(
            "role <> 'checkpoint' OR checkpoint_id IS NOT NULL", name="checkpoint_has_checkpoint"
        ),
        CheckConstraint(
            "role <> 'handler' OR department_id IS NOT NULL", name="handler_has_department"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored in lower case; the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(string_enum(Role))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    #: Preferred interface language ("zh" or "en"); None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(5))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Part of the session identity: rotating it ends every session of this user at once.
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    #: When and by whom an administrator last set this account's password for its holder (a
    #: creation or a reset): that administrator knew it, so for a while this account is not a
    #: second person to them (services.two_person.refusal). Kept after the holder
    #: changes the password.
    handed_over_at: Mapped[datetime | None]
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    enterprise: Mapped[Enterprise | None] = relationship(
        back_populates="users", foreign_keys=[enterprise_id]
    )
    department: Mapped[Department | None] = relationship()
    checkpoint: Mapped[Checkpoint | None] = relationship()
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id"
    )

    # Flask-Login's user protocol.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    def get_id(self) -> str:
        """The session identity: id and nonce, so a copied cookie dies with the nonce."""
        return f"{self.id}:{self.session_nonce}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LoginFailures(Base):
    """Failed log-ins of one account in its current window, shared by every worker and server
    (services.login_throttle); keyed by the email typed, so unknown addresses count alike."""

    __tablename__ = "login_failures"

    #: SHA-256 (hex) of the email typed at log-in, normalised.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    #: Whether the account's owner was sent an unlock link in this window.
    is_owner_told: Mapped[bool] = mapped_column(default=False)
