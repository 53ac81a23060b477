"""Batches of vehicle-pass drafts: POST /applications/batch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from permits.schemas.application_fields import BatchItem
from permits.schemas.common import Absent, Schema
from permits.services.batches import BATCH_LIMIT
from permits.workflow import State


class BatchRequest(Schema):
    applications: list[BatchItem] = Field(min_length=1, max_length=BATCH_LIMIT)


class BatchItemResult(Schema):
    index: int = Field(description="The item's position, from 0")
    id: int | None = Field(description="The new draft's id; null when the item was refused")
    status: Literal[State.DRAFT] | Absent = Field(
        None, description="Only when the draft was created"
    )
    error: Literal["invalid"] | Absent = Field(None, description="Only when the item was refused")
    message: str | Absent = Field(None, description="Only when refused")
    fields: dict[str, str] = Field(
        description="Field → message, as for POST /applications (`plate`, "
        "`drivers.N.id_number` for conflicts, naming the other pass number, application id or "
        "item); empty when created"
    )


class BatchResult(Schema):
    batch: int | None = Field(description="The batch's id; null when no item was valid")
    results: list[BatchItemResult] = Field(description="One per item, in the order sent")
