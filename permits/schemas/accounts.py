"""The caller's account and API tokens."""

from __future__ import annotations

from pydantic import Field

from permits.models import Role
from permits.schemas.common import Absent, Schema, Time


class MeEnterprise(Schema):
    uscc: str | Absent = None
    name: str | Absent = None
    district: str | Absent = None


class MeDepartment(Schema):
    code: str | Absent = None
    scope: str | Absent = None


class MeCheckpoint(Schema):
    code: str | Absent = None
    name: str | Absent = None


class Me(Schema):
    id: int
    email: str
    name: str
    role: Role
    enterprise: MeEnterprise | Absent = None
    department: MeDepartment | Absent = None
    checkpoint: MeCheckpoint | Absent = None


class Token(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters")
    created_at: Time
    last_used_at: Time | None
    revoked_at: Time | None


class TokenList(Schema):
    tokens: list[Token]
