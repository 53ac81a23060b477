"""Typed SQLAlchemy models, one module per aggregate; importing this registers them all."""

from permits.models.accounts import (
    CITY_SCOPE,
    DEPARTMENT_CODES,
    ApiToken,
    Department,
    Enterprise,
    Role,
    User,
)
from permits.models.base import Base, utcnow
from permits.models.checkpoints import Checkpoint

__all__ = [
    "CITY_SCOPE",
    "DEPARTMENT_CODES",
    "ApiToken",
    "Base",
    "Checkpoint",
    "Department",
    "Enterprise",
    "Role",
    "User",
    "utcnow",
]
