"""The approvers' verbs: the queue of their step, and approve / return / reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from permits import audit
from permits.extensions import db
from permits.models import (
    Application,
    Decision,
    Kind,
    Role,
    User,
)
from permits.services import conflict_locks, conflicts, issuance, notifications, workflows
from permits.services import text as typed_text
from permits.services.errors import Conflict, NotAllowed, ValidationFailed
from permits.services.state import StateMoved, move
from permits.workflow import DECISIONS, Action, Facts, IllegalTransition, State

#: Coded reasons for a rejection, so supervision can count the common problems.
#: The longest comment on a decision.
COMMENT_MAX = 2000
REJECT_REASONS = {
    "not_key_supply": _l("Not an essential activity or key supply"),
    "incomplete_documents": _l("Documents missing or incomplete"),
    "prevention_plan_inadequate": _l("Epidemic prevention plan inadequate"),
    "vehicle_or_driver_ineligible": _l("Vehicle or driver not eligible"),
    "false_information": _l("False or inconsistent information"),
    "duplicate": _l("Duplicate application"),
    "outside_scope": _l("Outside this authority's scope"),
    "other": _l("Other reason"),
}


class AlreadyDecided(Conflict):
    """Someone else decided this step first (HTTP 409)."""

    code = "already_decided"


def _last_decision(application: Application) -> Decision | None:
    return db.session.scalar(
        select(Decision)
        .where(Decision.application_id == application.id)
        .order_by(Decision.id.desc())
        .limit(1)
    )


def already_decided(application: Application) -> AlreadyDecided:
    """The refusal for a decision that came too late, naming who got there first."""
    db.session.refresh(application)
    last = _last_decision(application)
    if last is not None and last.action in DECISIONS:
        who = last.actor.name or last.actor.email
        return AlreadyDecided(
            _l(
                "Already decided by %(who)s at %(when)s: the application is now %(state)s.",
                who=who,
                when=last.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                state=application.status.value,
            )
        )
    return AlreadyDecided(
        _l("This application has moved on: it is now %(state)s.", state=application.status.value)
    )


def _decided_by_my_department(user: User, application: Application) -> bool:
    """The actor's department already decided its step in this round (it moved on since)."""
    if user.department_id is None or is_signer_now(user, application):
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Decision.application_id == application.id,
                    Decision.round == application.round,
                    Decision.department_id == user.department_id,
                    Decision.action.in_(DECISIONS),
                )
            )
        )
    )


#: Separation of duties: the person decided a step of the application other than the one it
#: waits at. Built once (the move of every decision carries it); its values are bound by
#: `_another_step_params`.
_DECIDED_ANOTHER_STEP = exists().where(
    Decision.application_id == bindparam("sod_application_id"),
    Decision.actor_id == bindparam("sod_actor_id"),
    Decision.action.in_(DECISIONS),
    Decision.step != bindparam("sod_step"),
)


def _another_step_params(user: User, application: Application) -> dict[str, Any]:
    return {
        "sod_application_id": application.id,
        "sod_actor_id": user.id,
        "sod_step": application.current_step,
    }


def signed_another_step(user: User, application: Application) -> bool:
    """Separation of duties: has this person decided a step of the application other than the
    one it waits at?"""
    if application.current_step is None:
        # Waits at no step: any decision of theirs was on another one.
        condition = exists().where(
            Decision.application_id == application.id,
            Decision.actor_id == user.id,
            Decision.action.in_(DECISIONS),
            Decision.step.is_not(None),
        )
        return bool(db.session.scalar(select(condition)))
    params = _another_step_params(user, application)
    return bool(db.session.scalar(select(_DECIDED_ANOTHER_STEP), params))


def is_signer_now(user: User, application: Application) -> bool:
    """The user's department signs the step the application waits at."""
    department = user.department
    return (
        user.role is Role.APPROVER
        and user.is_active
        and department is not None
        and application.status is State.IN_REVIEW
        and application.current_department_code == department.code
        and application.current_scope == department.scope
    )


@dataclass(frozen=True)
class Choice:
    """An approver's decision as typed, checked: the action, its comment and reason code."""

    action: Action
    comment: str
    reason_code: str | None


def check_choice(action: Action | str, comment: str, reason_code: str | None) -> Choice:
    """The decision's own fields (before the application is looked at), every problem at once."""
    parsed = next((a for a in DECISIONS if a.value == action or a is action), None)
    if parsed is None:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"decision": _l("Choose approve, return or reject.")},
        )
    comment = (comment or "").strip()
    problems: dict[str, str] = {}
    if parsed is Action.RETURN and not comment:
        problems["comment"] = str(_l("Say what the enterprise should change."))
    if parsed is Action.REJECT:
        if not comment:
            problems["comment"] = str(_l("Give the reason for the rejection."))
        reason_code = reason_code or "other"
        if reason_code not in REJECT_REASONS:
            problems["reason_code"] = str(_l("Choose one of the listed reasons."))
    if len(comment) > COMMENT_MAX:
        problems["comment"] = str(_l("At most %(n)d characters.", n=COMMENT_MAX))
    typed_text.check(problems, {"comment": comment}, multiline=True)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    return Choice(parsed, comment, reason_code if parsed is Action.REJECT else None)


@dataclass(frozen=True)
class Route:
    """Where a decision sends the application: the step decided, whether it was the last, the
    values of the move and, when approved on, who signs next."""

    step: int
    is_last: bool
    values: dict[str, object]
    next_signer: workflows.Signer | None


def route(application: Application, action: Action, *, now: datetime) -> Route:
    workflow = workflows.workflow_of(application)
    step = application.current_step or 1
    is_last = step == max(s.position for s in workflow.steps)
    if action is Action.APPROVE and not is_last:
        following = workflows.step_at(workflow, step + 1)
        signer = workflows.signer(following, application)
        return Route(step, is_last, workflows.enter_step(following, signer, now=now), signer)
    values = dict(workflows.AT_NO_STEP)
    if action is not Action.RETURN:
        values["closed_at"] = now
    return Route(step, is_last, values, None)


def decide(
    actor: User,
    application: Application,
    action: Action | str,
    *,
    comment: str = "",
    reason_code: str | None = None,
    now: datetime,
) -> Decision:
    """Records the actor's decision on the current step and moves the application on."""
    choice = check_choice(action, comment, reason_code)
    if application.status is not State.IN_REVIEW or _decided_by_my_department(actor, application):
        raise already_decided(application)
    if not is_signer_now(actor, application):
        raise NotAllowed(_l("This application does not wait at your department's step."))
    way = route(application, choice.action, now=now)
    round_ = application.round
    target = _move(actor, application, choice.action, way, now=now)
    decision = _insert_decision(
        {
            "application_id": application.id,
            "round": round_,
            "step": way.step,
            "action": choice.action,
            "actor_id": actor.id,
            "department_id": actor.department_id,
            "reason_code": choice.reason_code,
            "comment": choice.comment,
            "created_at": now,
        }
    )
    if decision is None:
        raise already_decided(application)
    audit.record(
        f"application.{choice.action.value}",
        actor=actor,
        obj=application,
        details={"step": way.step, "round": round_, "reason_code": decision.reason_code},
        now=now,
    )
    _notify(actor, application, choice, way, target, now=now)
    return decision


def _move(
    actor: User, application: Application, action: Action, way: Route, *, now: datetime
) -> State:
    """The state change, with the separation of duties and, before a pass is issued, the
    plate's and drivers' conflicts checked under their locks."""
    issues = action is Action.APPROVE and way.is_last
    if issues and application.kind is Kind.VEHICLE_PASS:
        # Before the move: the plate's and drivers' locks come before the application's row.
        conflict_locks.hold([conflicts.values_of(application)])
    try:
        # Separation of duties is a condition of the move's UPDATE rather than a read before
        # it: one round trip less. Only a move refused is asked why.
        target = move(
            application,
            action,
            now=now,
            facts=Facts(is_last_step=way.is_last),
            values=way.values,
            unless=_DECIDED_ANOTHER_STEP,
            unless_params=_another_step_params(actor, application),
        )
    except (StateMoved, IllegalTransition):
        if signed_another_step(actor, application):
            raise NotAllowed(
                _l("You signed another step of this application; a colleague must decide this one.")
            ) from None
        raise already_decided(application) from None
    if issues:
        # After the move: a refusal rolls the move back with the rest of the transaction.
        conflicts.check_before_issue(application, now=now)
    return target


def _notify(
    actor: User,
    application: Application,
    choice: Choice,
    way: Route,
    target: State,
    *,
    now: datetime,
) -> None:
    """The applicant hears of every decision; the next step's approvers, that one waits."""
    applicant = [application.created_by]
    if target is State.APPROVED:
        on_final_approval(application, actor, now=now)
    elif way.next_signer is not None:
        notifications.notify(applicant, "approved_step", application, step=way.step)
        notifications.notify(
            notifications.approvers_of(way.next_signer.department_code, way.next_signer.scope),
            "waiting",
            application,
        )
    elif choice.action is Action.RETURN:
        notifications.notify(applicant, "returned", application, comment=choice.comment)
    else:
        notifications.notify(applicant, "rejected", application, comment=choice.comment)


def _insert_decision(values: dict[str, Any]) -> Decision | None:
    """Stores a decision, or None when its step of this round already has one (the unique
    constraint, the last line of defence against races). INSERT … ON CONFLICT DO NOTHING
    RETURNING: one statement, where a savepoint around a plain INSERT took three."""
    session = db.session()
    postgresql = session.get_bind().dialect.name == "postgresql"
    session.flush()
    return session.scalar(
        _INSERT_DECISION_POSTGRESQL if postgresql else _INSERT_DECISION_SQLITE,
        values,
        execution_options={"populate_existing": True},
    )


# Built once, as every decision runs one of them.
_INSERT_DECISION_POSTGRESQL, _INSERT_DECISION_SQLITE = (
    dialect_insert(Decision)
    .on_conflict_do_nothing(index_elements=["application_id", "round", "step"])
    .returning(Decision)
    for dialect_insert in (postgresql_insert, sqlite_insert)
)


def on_final_approval(application: Application, actor: User, *, now: datetime) -> None:
    """The last step approved: the pass is issued in the decision's own transaction, so a
    failure leaves neither decision nor pass nor used serial behind."""
    issued = issuance.issue_pass(application, now=now)
    # Both notices after the pass: added together, they are one INSERT at the commit's flush.
    notifications.notify([application.created_by], "approved", application)
    notifications.notify([application.created_by], "issued", application, pass_number=issued.number)
