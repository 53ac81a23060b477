"""Decisions: one application's, and one decision for many."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from permits.schemas.applications import Application, ApplicationSummary, ReasonCode
from permits.schemas.common import Absent, Count, Schema
from permits.services.batch_review import MAX_BULK
from permits.services.reviews import COMMENT_MAX
from permits.workflow import Action

DecisionAction = Literal[Action.APPROVE, Action.RETURN, Action.REJECT]


class Decision(Schema):
    id: int
    action: DecisionAction
    step: int = Field(ge=1)
    round: int = Field(ge=1)
    reason_code: ReasonCode | None = Field(description="Set on rejections only")
    comment: str


class DecisionRequest(Schema):
    decision: DecisionAction
    comment: str | Absent = Field(
        None, max_length=COMMENT_MAX, description="Required to return or reject"
    )
    reason_code: ReasonCode | None = Field(
        None,
        description="Coded reason of a rejection (`other` when omitted); ignored for approve "
        "and return",
    )


class Decided(Schema):
    decision: Decision
    application: Application


class BulkDecisionRequest(Schema):
    ids: list[int] = Field(
        min_length=1, max_length=MAX_BULK, description="The applications to decide"
    )
    decision: DecisionAction
    comment: str | Absent = Field(
        None,
        max_length=COMMENT_MAX,
        description="Required to return or reject; the same for every one",
    )
    reason_code: ReasonCode | None = Field(
        None, description="Coded reason of a rejection (`other` when omitted)"
    )


class BulkDecisionResult(Schema):
    id: int
    result: Literal["decided", "error"]
    decision: Decision | Absent = Field(None, description="When decided: the decision recorded")
    application: ApplicationSummary | Absent = Field(
        None, description="When decided: the application after it"
    )
    error: str | Absent = Field(
        None,
        description="When not decided: `already_decided` (someone decided first, or it is no "
        "longer in review), `forbidden` (not at the caller's department's step, or the caller "
        "signed another step of it), `not_found` (no such application, or the caller may not "
        "see it), or another error code",
        examples=["already_decided", "forbidden", "not_found"],
    )
    message: str | Absent = Field(None, description="When not decided: why")


class BulkDecisionResults(Schema):
    results: list[BulkDecisionResult]
    decided: Count
    refused: Count
