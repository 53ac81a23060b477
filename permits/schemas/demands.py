"""Demand tickets over the API: what a client sends to file and handle one, and what it reads
back (the ticket, its history, a page of tickets). Lengths come from models/demands.py, which
the services check; the schema only says what shape each value has."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from permits.demand_workflow import DemandAction, DemandNote, DemandState
from permits.models import DEPARTMENT_CODES, DemandCategory
from permits.models.demands import DESCRIPTION_MAX, REASON_MAX, RESPONSE_MAX, TITLE_MAX
from permits.schemas.applications import DepartmentRef
from permits.schemas.common import Absent, Code6, Count, PassNumber, Request, RowId, Schema, Time

DepartmentCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(DEPARTMENT_CODES)})]
EventAction = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "enum": [a.value for a in DemandAction] + [n.value for n in DemandNote]}
    ),
]
Rating = Annotated[int, Field(ge=1, le=5)]


# --- What a client sends.


class DemandCreate(Request):
    category: DemandCategory
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    application_id: RowId | Absent = Field(
        None, description="One of the enterprise's applications the difficulty is about"
    )
    pass_number: PassNumber | Absent = Field(
        None, description="One of the enterprise's passes the difficulty is about"
    )


class DemandAnswer(Request):
    response: str = Field(
        min_length=1, max_length=RESPONSE_MAX, description="What was done or will be done"
    )


class DemandTransfer(Request):
    department: DepartmentCode = Field(
        description="Another department's code: that department of the ticket's district, "
        "else the city-wide one"
    )
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class DemandCopyTo(Request):
    department: DepartmentCode = Field(
        description="The co-handling department's code (of the district, else city-wide)"
    )


class DemandNoteText(Request):
    text: str = Field(min_length=1, max_length=RESPONSE_MAX)


class DemandConfirm(Request):
    rating: Rating = Field(description="How the handling was, 1 (poor) to 5 (very good)")
    comment: str | Absent = Field(None, max_length=REASON_MAX)


class DemandReopen(Request):
    reason: str = Field(
        min_length=1, max_length=REASON_MAX, description="Why the answer did not solve it"
    )


# --- What the API answers.


class DemandEvent(Schema):
    action: EventAction = Field(
        description="A change of state, a transfer, `copy` (a co-handling department copied "
        "in) or `note` (a department's working note; never shown to the enterprise)"
    )
    at: Time
    actor: str | None = Field(
        description="Name (or email) of who acted; null for the service itself"
    )
    department: DepartmentRef | None = Field(
        description="The acting officer's department; null for the enterprise and the service"
    )
    text: str = Field(description="The response, reason, note or comment written")
    details: dict[str, Any] = Field(
        description="Facts of the event: `department` of the first holder or a copy, "
        "`from`/`to`/`asked_for` of a transfer (`to` is `supervisors` for the third), "
        "`rating` of a confirmation"
    )


class DemandSummary(Schema):
    id: int
    category: DemandCategory
    title: str
    description: str
    status: DemandState
    department: DepartmentRef | None = Field(
        description="Who holds it now; null while it waits for the supervisors or once final"
    )
    district: Code6 = Field(description="The enterprise's district")
    due: Time | None = Field(
        description="When the holder's current task (accepting, answering) or the "
        "enterprise's confirmation is due; null once final"
    )
    created_at: Time
    accepted_at: Time | None
    answered_at: Time | None = Field(description="The latest answer")
    closed_at: Time | None
    rating: Rating | None = Field(description="The enterprise's rating when it confirmed it")
    transfers: Count
    application_id: int | None
    pass_number: PassNumber | None


class Demand(DemandSummary):
    history: list[DemandEvent] = Field(description="Every step, oldest first")


class DemandPage(Schema):
    items: list[DemandSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last"
    )
