"""Approvers and batches: what of a batch waits at my step, and one decision for many.

Every application is still decided by `reviews.decide`, in a savepoint of its own: each
decision is recorded, audited and notified as if made alone, and one that is refused (already
decided, not at my step, separation of duties) rolls back only its own writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, func, select

from permits.extensions import db
from permits.models import Application, ApplicationBatch, Decision, Kind, Role, User
from permits.outcome import answered_alone, on_its_own
from permits.services import conflict_locks, conflicts, review_queue, reviews
from permits.services.errors import DomainError, NotFound, ValidationFailed
from permits.workflow import Action

#: The most applications one bulk decision may name (a page of a batch, or of the queue).
MAX_BULK = 200
#: The largest id a row can have (a 32-bit integer column).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Outcome:
    """What became of one application of a bulk decision: its decision, or why not."""

    application_id: int
    decision: Decision | None = None
    error: DomainError | None = None

    @property
    def is_decided(self) -> bool:
        return self.decision is not None


@dataclass(frozen=True)
class BatchSummary:
    """A batch as an approver sees it: whose, how big, and how much of it waits for them."""

    batch: ApplicationBatch
    total: int
    at_my_step: int


def _at_step_of(approver: User) -> list[ColumnElement[bool]]:
    """The conditions of "waits for the approver's decision", as in their queue."""
    department = approver.department
    assert department is not None
    return [review_queue.awaiting(approver, department)]


def _is_approver(user: User) -> bool:
    return user.role is Role.APPROVER and user.department is not None


def load_applications(ids: Sequence[int]) -> dict[int, Application]:
    """The named applications that exist, by id (the caller then checks which it may see)."""
    wanted = {i for i in ids if 0 < i <= MAX_ID}  # a number no row can have is simply not found
    if not wanted:
        return {}
    found = db.session.scalars(select(Application).where(Application.id.in_(wanted)))
    return {application.id: application for application in found}


def check_bulk_ids(ids: Sequence[int]) -> list[int]:
    """The ids once each, in the order given; refuses none, or more than MAX_BULK."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"ids": _l("Choose at least one application.")},
        )
    if len(unique) > MAX_BULK:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"ids": _l("At most %(n)d applications at once.", n=MAX_BULK)},
        )
    return unique


def decide_many(
    actor: User,
    ids: Sequence[int],
    visible: Mapping[int, Application],
    action: Action | str,
    *,
    comment: str = "",
    reason_code: str | None = None,
    now: datetime,
) -> list[Outcome]:
    """One decision for each named application, in order; `visible` holds those the actor may
    see (the others are reported as not found, so ids are not confirmed).

    A wrong decision, comment or reason is the same for all and refuses the whole request
    (ValidationFailed); any other refusal is reported for its application alone.
    """
    outcomes = []
    ids = check_bulk_ids(ids)
    reviews.check_choice(action, comment, reason_code)  # refused for all, even if none is seen
    if action == Action.APPROVE:
        # A last approval checks its plate and drivers: all of them held at once, in order,
        # before the first decision (see `conflict_locks.hold`).
        conflict_locks.hold(
            conflicts.values_of(visible[i])
            for i in ids
            if i in visible and visible[i].kind is Kind.VEHICLE_PASS
        )
    for application_id in ids:
        application = visible.get(application_id)
        if application is None:
            unseen = NotFound(_l("No such application."))
            answered_alone(unseen)  # reported for its id, with nothing written
            outcomes.append(Outcome(application_id, error=unseen))
            continue
        try:
            with on_its_own():
                decision = reviews.decide(
                    actor, application, action, comment=comment, reason_code=reason_code, now=now
                )
        except ValidationFailed:
            raise
        except DomainError as exc:
            answered_alone(exc)  # its savepoint is rolled back; the other decisions stand
            db.session.refresh(application)  # what the rolled-back savepoint left in memory
            outcomes.append(Outcome(application_id, error=exc))
        else:
            outcomes.append(Outcome(application_id, decision=decision))
    return outcomes


# --- batches as approvers see them ---------------------------------------------------------


def can_see_batch(approver: User, batch: ApplicationBatch) -> bool:
    """Something of the batch waits at the approver's step, or their department decided on it."""
    if not _is_approver(approver):
        return False
    waiting = exists().where(Application.batch_id == batch.id, *_at_step_of(approver))
    decided = exists().where(
        Decision.application_id == Application.id,
        Application.batch_id == batch.id,
        Decision.department_id == approver.department_id,
    )
    return bool(db.session.scalar(select(waiting)) or db.session.scalar(select(decided)))


def batch_summaries(approver: User, batch_ids: Sequence[int]) -> dict[int, BatchSummary]:
    """For the batches named (those of a queue page): size and how many wait at my step."""
    if not batch_ids or not _is_approver(approver):
        return {}
    at_step = case((and_(*_at_step_of(approver)), 1), else_=0)
    rows = db.session.execute(
        select(Application.batch_id, func.count(), func.sum(at_step))
        .where(Application.batch_id.in_(set(batch_ids)))
        .group_by(Application.batch_id)
    ).all()
    batches = {
        batch.id: batch
        for batch in db.session.scalars(
            select(ApplicationBatch).where(ApplicationBatch.id.in_(set(batch_ids)))
        )
    }
    return {
        batch_id: BatchSummary(batches[batch_id], int(total), int(waiting or 0))
        for batch_id, total, waiting in rows
        if batch_id in batches
    }


def batch_at_my_step(
    approver: User, batch: ApplicationBatch, *, after_id: int | None = None, limit: int = MAX_BULK
) -> list[Application]:
    """The batch's applications that wait at the approver's step, by id, a page at a time."""
    if not _is_approver(approver):
        return []
    query = select(Application).where(Application.batch_id == batch.id, *_at_step_of(approver))
    if after_id is not None:
        query = query.where(Application.id > after_id)
    return list(db.session.scalars(query.order_by(Application.id).limit(limit)))
