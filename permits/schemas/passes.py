"""Passes: the summary on an application, the whole pass, the published keys, the revocations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema

from permits.models import Kind, PassStatus
from permits.schemas.common import Absent, ControlCode, Count, PassNumber, Schema, Time
from permits.services.revocations import REASON_MAX


class PassSummary(Schema):
    number: PassNumber
    status: PassStatus
    valid_from: date
    valid_until: date
    control_code: ControlCode
    url: str


#: What a pass's `status` says: stored (active, revoked), or derived from its validity.
PassState = Literal[PassStatus.ACTIVE, PassStatus.REVOKED, "expired", "not_yet_valid"]


class Pass(Schema):
    number: PassNumber
    kind: Kind
    status: PassState
    control_code: ControlCode
    control_code_display: str | Absent = Field(None, examples=["ABCD-EFGH"])
    qr: str = Field(description="The PP1 text of the QR code")
    valid_from: date
    valid_until: date
    not_before: Time
    expires_at: Time
    issued_at: Time | Absent = None
    plate: str | None = None
    kid: str = Field(description="Hex of the signing key's 8-byte id")
    application_id: int | Absent = None
    revoked_at: Time | None = None
    revoke_reason: str | None = None
    pdf: str | Absent = None


class RevokeRequest(Schema):
    reason: str = Field(max_length=REASON_MAX)


def _const(value: str) -> object:
    return WithJsonSchema({"const": value})


class Jwk(Schema):
    kty: Annotated[str, _const("EC")]
    crv: Annotated[str, _const("P-256")]
    x: str
    y: str
    kid: str = Field(description="base64url of the 8-byte key id")
    use: Annotated[str, _const("sig")] | Absent = None
    alg: Annotated[str, _const("ES256")] | Absent = None
    nbf: int = Field(description="Start of the signing period")
    exp: int = Field(description="End of the signing period")


class KeySet(Schema):
    keys: list[Jwk]


class RevocationPage(Schema):
    counter: Count
    revoked: list[PassNumber]
    reinstated: list[PassNumber] | Absent = Field(
        None,
        description="Passes listed as revoked while their enterprise was suspended, valid "
        "again: remove them from the held list",
    )
