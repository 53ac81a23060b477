"""The supervision figures: GET /stats."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from permits.models import Kind
from permits.schemas.applications import ReasonCode
from permits.schemas.common import Count, Schema, Time
from permits.workflow import Action, State


class SubmittedOn(Schema):
    date: date
    submitted: int


class ApplicationFigures(Schema):
    by_state: dict[State, int]
    by_kind: dict[Kind, int]
    by_district: dict[str, int] = Field(description="Applications per routing district code")
    per_day: list[SubmittedOn] = Field(
        description="Submissions per day of the last 30, oldest first"
    )


class StepTimes(Schema):
    kind: Kind
    step: int = Field(ge=1)
    department: str = Field(description="Its code")
    decisions: int = Field(ge=1)
    median: float = Field(description="Hours")
    p90: float = Field(description="Hours, 90th percentile")


class OverdueAt(Schema):
    department: str
    scope: str = Field(description="A district code, or `city`")
    count: int
    applications: list[int] = Field(
        description="Ids of the most overdue (at most 200 over all departments)"
    )


class Overdue(Schema):
    total: int
    by_department: list[OverdueAt] = Field(description="The department with the most overdue first")


class Problem(Schema):
    action: Literal[Action.RETURN, Action.REJECT]
    reason_code: ReasonCode | None = Field(description="Null for returns")
    count: int
    examples: list[str] = Field(max_length=3, description="Recent comments, long numbers cut out")


class CheckpointScans(Schema):
    checkpoint: str | None = Field(description="Its code; null for scans made without a checkpoint")
    name: str
    total: int
    per_hour: list[int] = Field(description="Scans in each of `hours`")


class ScanFigures(Schema):
    total: int
    hours: list[Time] = Field(description="Start of each of the last 24 hours (UTC)")
    by_checkpoint: list[CheckpointScans]
    verdicts: dict[str, int] = Field(
        description="Scans of the last 24 hours per `result` of /verify"
    )


class Stats(Schema):
    generated_at: Time
    passes_issued: Count
    passes_active: Count = Field(description="Not revoked and not expired")
    passes_revoked: Count
    applications: ApplicationFigures
    steps: list[StepTimes] = Field(
        description="Decision times per kind, step and signing department"
    )
    overdue: Overdue
    common_problems: list[Problem] = Field(
        description="Returns and rejections of the last 90 days by reason, most frequent first"
    )
    scans: ScanFigures
    anomalies: int = Field(description="Scans flagged as anomalies in the last 7 days")
