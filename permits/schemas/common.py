"""Shared pieces: the base model, the small value types and the error body."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.json_schema import SkipJsonSchema

from permits.database import MAX_ROW_ID


class Schema(BaseModel):
    """An API body: built from keyword arguments or objects' attributes."""

    model_config = ConfigDict(from_attributes=True)

    def as_json(self, exclude: set[str] | frozenset[str] | None = None) -> dict[str, Any]:
        """The body as JSON values (dates as ISO text, enums as their values)."""
        return self.model_dump(mode="json", by_alias=True, exclude=set(exclude or ()))


class Request(BaseModel):
    """A request body: a field it does not know is refused."""

    model_config = ConfigDict(extra="forbid")


#: A 6-digit administrative division code (a district or county).
Code6 = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
#: The 12-digit number of a pass.
PassNumber = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
#: The 8-character control code printed on a pass.
ControlCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{8}$")]
#: A row id as a path parameter accepts it: any other number matches no route (a 404).
RowId = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
#: A field left out of the answer when it does not apply (no null in the document).
Absent = SkipJsonSchema[None]
Count = Annotated[int, Field(ge=0)]
#: A moment, answered as Python writes it (`+00:00`, not pydantic's `Z`), as the API always has.
Time = Annotated[datetime, PlainSerializer(datetime.isoformat, when_used="json")]


class Error(Schema):
    # Every 4xx answer: `error` is a stable code, `message` is for people.
    error: str = Field(examples=["invalid", "conflict"])
    message: str
    fields: dict[str, str] = Field(description="A message for each field that was wrong")
