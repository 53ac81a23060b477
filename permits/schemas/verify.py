"""Checkpoints: a verdict for a scan, and the upload of scans decided offline."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from permits.passes.token import Result
from permits.schemas.common import Absent, Schema, Time
from permits.services.verification import FLAG_REASONS

#: The most scans one upload may carry.
MAX_SCANS = 1000

Flag = Annotated[str, WithJsonSchema({"enum": list(FLAG_REASONS)})]


class VerifyRequest(Schema):
    """Exactly one of qr, code or plate"""

    qr: str | Absent = Field(None, description="The PP1 text")
    code: str | Absent = Field(None, description="Control code")
    plate: str | Absent = None
    checkpoint: str | Absent = Field(None, description="Its code")


class Verdict(Schema):
    result: Result
    reason: str
    warning: bool = Field(description="Valid, but flagged")
    flags: list[Flag]
    pass_: dict[str, Any] | None = Field(
        alias="pass",
        description="Only what is needed to match vehicle and driver: kind, number, validity, "
        "enterprise, status; plate, route, cargo and drivers (name, last 4 of the ID) for a "
        "vehicle pass; site, district, staff for work resumption. Never a full ID or a phone "
        "number.",
    )
    checked_at: Time


class OfflineScan(Schema):
    id: str
    number: str | None = None
    result: str
    scanned_at: Time


class ScanUpload(Schema):
    scans: list[OfflineScan] = Field(max_length=MAX_SCANS)


class RefusedScan(Schema):
    index: int
    id: str
    error: str
    message: str
    fields: dict[str, str]


class ScanUploadResult(Schema):
    received: int
    stored: int = Field(description="New ones")
    refused: list[RefusedScan] = Field(
        description="Scans not stored, and why: a result no scanner gives, a time in the future "
        "(beyond 5 minutes of clock skew) or before the account or the pass existed, or a pass "
        "found offline that the server does not know"
    )
