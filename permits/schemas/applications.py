"""What the API answers about an application: the whole file, the summary in lists, its step,
files and history. The fields a client sends are in schemas/application_fields.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from permits.models import CargoCategory, Kind, VehicleType
from permits.schemas.application_fields import (
    NAME_MAX,
    ContactName,
    SiteAddress,
    Staff,
)
from permits.schemas.common import Absent, Code6, Count, Schema, Time
from permits.schemas.passes import PassSummary
from permits.services.attachments import ATTACHMENT_PURPOSES, FILE_SIGNATURES
from permits.services.reviews import REJECT_REASONS
from permits.workflow import Action, State

CONTENT_TYPES = [content_type for _signature, content_type, _extension in FILE_SIGNATURES]
Purpose = Annotated[str, WithJsonSchema({"type": "string", "enum": list(ATTACHMENT_PURPOSES)})]
ContentType = Annotated[str, WithJsonSchema({"type": "string", "enum": CONTENT_TYPES})]
ReasonCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(REJECT_REASONS)})]
UriReference = Annotated[str, Field(json_schema_extra={"format": "uri-reference"})]

COUNTY = "County-level administrative division code"


# --- What the API answers.


class Step(Schema):
    """The workflow step an application in review waits at"""

    position: int = Field(ge=1)
    department: str = Field(
        description="Code of the department that signs the step",
        examples=["economy", "transport"],
    )
    scope: str = Field(
        description="The signing department's scope: a 6-digit district code or `city`",
        examples=["310115", "city"],
    )
    entered_at: Time
    due_at: Time
    overdue: bool


class Driver(Schema):
    name: str = Field(max_length=NAME_MAX)
    id_number: str = Field(
        pattern=r"^[0-9]{17}[0-9X]$", description="Resident ID number (GB 11643)"
    )
    phone: str = Field(pattern=r"^1[3-9][0-9]{9}$")


class AttachmentInfo(Schema):
    id: int
    purpose: Purpose
    filename: str
    content_type: ContentType
    size: int = Field(description="Bytes")
    created_at: Time
    url: UriReference = Field(description="Where to download it")


class UploadedAttachment(Schema):
    id: int
    purpose: Purpose
    filename: str
    content_type: ContentType
    size: int = Field(description="Bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DepartmentRef(Schema):
    code: str
    scope: str


class HistoryEntry(Schema):
    action: Action
    round: Count
    step: int | None = Field(description="The step decided; null for a submission or withdrawal")
    department: DepartmentRef | None = Field(
        description="The deciding department; null for the enterprise's acts"
    )
    actor: str = Field(description="Name (or email) of who acted")
    comment: str
    reason_code: ReasonCode | None = Field(description="Set on rejections only")
    at: Time


class EnterpriseRef(Schema):
    uscc: str = Field(description="Unified social credit code (18 characters)")
    name: str


def _null_first(schema: dict[str, Any]) -> None:
    """The document's form of this nullable reference: `oneOf: [null, ref]`."""
    schema["oneOf"] = list(reversed(schema.pop("anyOf")))


class _Common(Schema):
    id: int
    kind: Kind
    status: State
    round: Count = Field(
        description="How many times it was submitted (0 for a draft never submitted)"
    )
    step: Step | None = Field(
        description="The step it waits at; null unless `status` is `in_review`"
    )
    enterprise: EnterpriseRef
    district: Code6 = Field(
        description="The district that routes it: the site's district for work resumption; "
        "for a vehicle pass the origin, or the destination when only that lies in the city "
        "(the enterprise's district until one is known)"
    )
    valid_until: date | None = Field(description="Last day of validity (inclusive)")
    created_at: Time
    updated_at: Time
    submitted_at: Time | None = Field(description="The latest submission; null for a draft")
    pass_: PassSummary | None = Field(
        alias="pass",
        description="The issued pass of an approved application, else null",
        json_schema_extra=_null_first,
    )
    renewal_of: str | None = Field(description="The number of the pass this application renews")


class _WorkResumptionOut(Schema):
    site_address: SiteAddress | None = None
    resume_date: date | None = Field(None, description="First day of work on site")
    staff_on_site: Staff | None = None
    contact_name: ContactName | Absent = Field(
        None, description="Empty when neither given nor known for the enterprise"
    )
    contact_phone: str | Absent = Field(
        None, description="11-digit mainland mobile number, or empty when not known"
    )
    closed_loop: bool | None = Field(
        None, description="Whether staff live and work in a closed loop"
    )


class _VehiclePassOut(Schema):
    plate: str | None = Field(
        None,
        description="Mainland plate, upper case without separators (8 characters for "
        "new-energy vehicles)",
    )
    vehicle_type: VehicleType | None = None
    origin: Code6 | None = Field(None, description=COUNTY)
    destination: Code6 | None = Field(None, description=COUNTY)
    cargo_category: CargoCategory | None = None
    valid_from: date | None = Field(None, description="First day of validity")


WORK_RESUMPTION_OUT = tuple(_WorkResumptionOut.model_fields)
VEHICLE_PASS_OUT = tuple(_VehiclePassOut.model_fields)


def _by_kind(*, full: bool) -> dict[str, Any]:
    """What the document says each kind carries (a JSON Schema if/then per kind)."""
    vehicle = [*VEHICLE_PASS_OUT, "drivers"] if full else list(VEHICLE_PASS_OUT)
    return {
        "description": "Work-resumption applications carry "
        + ", ".join(f"`{name}`" for name in WORK_RESUMPTION_OUT)
        + "; vehicle passes carry "
        + ", ".join(f"`{name}`" for name in vehicle)
        + ". Fields not filled in yet are null.",
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind.value}}},
                "then": {"required": required},
            }
            for kind, required in (
                (Kind.WORK_RESUMPTION, list(WORK_RESUMPTION_OUT)),
                (Kind.VEHICLE_PASS, vehicle),
            )
        ],
    }


class ApplicationSummary(_Common, _WorkResumptionOut, _VehiclePassOut):
    model_config = ConfigDict(json_schema_extra=_by_kind(full=False))


class Application(ApplicationSummary):
    model_config = ConfigDict(json_schema_extra=_by_kind(full=True))

    drivers: list[Driver] | Absent = Field(
        None, description="Vehicle passes only: the drivers, in order"
    )
    attachments: list[AttachmentInfo]
    history: list[HistoryEntry] = Field(
        description="Every submission, decision and withdrawal, oldest first"
    )


class ApplicationPage(Schema):
    items: list[ApplicationSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last"
    )


class Submitted(Schema):
    id: int
    status: Literal[State.IN_REVIEW]
    step: Step


class AttachmentUpload(Schema):
    file: str = Field(
        description="A PDF, JPEG or PNG file, at most MAX_CONTENT_LENGTH (10 MiB by default)",
        json_schema_extra={"contentMediaType": "application/octet-stream"},
    )
    purpose: Purpose
