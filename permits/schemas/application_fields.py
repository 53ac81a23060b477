"""An application's fields as a client sends them: each kind's fields, their types, lengths,
ranges and choices, defined once.

The services check given fields by these definitions (services/application_fields.py), and the
OpenAPI document describes the API's request bodies from them. A new field is added here (and
to the database model, its migration and the form template).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from permits.models import CargoCategory, Kind, VehicleType
from permits.schemas.common import Absent, Code6, Request, Schema

#: The longest site address.
SITE_ADDRESS_MAX = 300
#: The longest contact or driver name.
NAME_MAX = 50
#: How many staff a site may declare.
STAFF_MIN, STAFF_MAX = 1, 100_000

SiteAddress = Annotated[str, Field(max_length=SITE_ADDRESS_MAX)]
ContactName = Annotated[str, Field(max_length=NAME_MAX)]
Staff = Annotated[int, Field(ge=STAFF_MIN, le=STAFF_MAX)]


# --- What a client sends: the fields it gives are checked (a draft may lack the others, submit
# checks completeness); null, "" or [] clears a field; a field of the other kind is a 422.


class DriverInput(Schema):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    id_number: str = Field(
        description="Resident ID number of 18 characters with a valid GB 11643 check character; "
        "spaces are removed, x is upper-cased; unique within the list"
    )
    phone: str = Field(
        description="11-digit mainland mobile number (spaces, dashes, +86 are removed)"
    )


class WorkResumptionFields(Request):
    site_address: SiteAddress | None = None
    district: Code6 | Absent = Field(
        None, description="A district of the city; defaults to the enterprise's district"
    )
    resume_date: date | None = Field(None, description="Not in the past")
    staff_on_site: Staff | None = None
    contact_name: ContactName | Absent = Field(
        None, description="Defaults to the enterprise's contact"
    )
    contact_phone: str | Absent = Field(
        None,
        description="11-digit mainland mobile number (spaces, dashes, +86 are removed); "
        "defaults to the enterprise's contact",
        examples=["13812345678"],
    )
    closed_loop: bool | Absent = None
    valid_until: date | None = Field(
        None,
        description="Not before resume_date, and at most MAX_VALIDITY_DAYS (30 by default) "
        "days including both ends",
    )


class VehiclePassFields(Request):
    plate: str | None = Field(
        None,
        description="Mainland plate: a province character, a letter and 5 letters or digits "
        "(6 for new-energy vehicles); the tractor plate for semi-trailers",
        examples=["沪A12345", "沪AD12345"],
    )
    vehicle_type: VehicleType | None = None
    drivers: list[DriverInput] | None = Field(
        None,
        description="At least one and at most MAX_DRIVERS (3 by default); all-blank rows are "
        "skipped; replaces the whole list",
    )
    origin: Code6 | None = Field(
        None,
        description="6-digit county-level code; the origin or the destination must be a "
        "district of the city",
    )
    destination: Code6 | None = Field(None, description="6-digit county-level code")
    cargo_category: CargoCategory | None = None
    valid_from: date | None = Field(None, description="Not in the past")
    valid_until: date | None = Field(
        None,
        description="Not before valid_from, and at most MAX_VALIDITY_DAYS (30 by default) "
        "days including both ends",
    )


#: Each kind's fields, in the order forms and messages list them.
FIELDS_OF: dict[Kind, type[Request]] = {
    Kind.WORK_RESUMPTION: WorkResumptionFields,
    Kind.VEHICLE_PASS: VehiclePassFields,
}
CHANGE_KIND = "Optional; the kind of an application cannot change"


class WorkResumptionCreate(WorkResumptionFields):
    kind: Literal[Kind.WORK_RESUMPTION]


class VehiclePassCreate(VehiclePassFields):
    kind: Literal[Kind.VEHICLE_PASS]


class WorkResumptionPatch(WorkResumptionFields):
    kind: Literal[Kind.WORK_RESUMPTION] | Absent = Field(None, description=CHANGE_KIND)


class VehiclePassPatch(VehiclePassFields):
    kind: Literal[Kind.VEHICLE_PASS] | Absent = Field(None, description=CHANGE_KIND)


class BatchItem(VehiclePassFields):
    """The fields of a vehicle application, as for POST /applications (`kind` optional)"""

    kind: Literal[Kind.VEHICLE_PASS] | Absent = None


ApplicationCreate = Annotated[
    WorkResumptionCreate | VehiclePassCreate,
    Field(discriminator="kind", description="`kind` and any of that kind's fields"),
]
ApplicationPatch = Annotated[
    WorkResumptionPatch | VehiclePassPatch,
    Field(description="Any of the fields of the application's kind"),
]
