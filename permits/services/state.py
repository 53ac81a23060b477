"""The one place that writes Application.status: workflow.next_state, then a conditional UPDATE.

The UPDATE names the state, round and step the caller saw. If another request moved the
application first, no row matches and StateMoved is raised, so exactly one of several
simultaneous decisions lands, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, Update, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value

from permits import workflow
from permits.extensions import db
from permits.models import Application
from permits.workflow import Action, State


class StateMoved(Exception):
    """The application is no longer in the state, round or step the caller acted on."""


def move(
    application: Application,
    action: Action,
    *,
    now: datetime,
    facts: workflow.Facts | None = None,
    values: dict[str, Any] | None = None,
    unless: Exists | None = None,
    unless_params: Mapping[str, Any] | None = None,
) -> State:
    """Applies `action`; `values` are the other columns that change with it. With `unless`
    (built once, its parameters in `unless_params`), the move is also refused (StateMoved)
    while that subquery finds a row."""
    target = workflow.next_state(application.status, action, facts)
    changes = {"status": target, "updated_at": now, **(values or {})}
    statement = _move_statement(tuple(changes), application.current_step is None, unless)
    params = {f"new_{name}": value for name, value in changes.items()}
    params.update(
        seen_id=application.id,
        seen_status=application.status,
        seen_round=application.round,
        seen_step=application.current_step,
        **(unless_params or {}),
    )
    result = db.session.execute(statement, params)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StateMoved
    for name, value in changes.items():
        set_committed_value(application, name, value)
    return target


@functools.cache
def _move_statement(columns: tuple[str, ...], step_is_null: bool, unless: Exists | None) -> Update:
    """The conditional UPDATE of a move, built once per shape (the columns it sets, whether
    the step seen is none, the extra condition) with every value bound at execution: every
    decision runs one."""
    step_matches = (
        Application.current_step.is_(None)
        if step_is_null
        else Application.current_step == bindparam("seen_step")
    )
    return (
        update(Application)
        .where(
            Application.id == bindparam("seen_id"),
            Application.status == bindparam("seen_status"),
            Application.round == bindparam("seen_round"),
            step_matches,
            *(() if unless is None else (~unless,)),
        )
        .values(
            {
                name: bindparam(f"new_{name}", type_=Application.__table__.c[name].type)
                for name in columns
            }
        )
        .execution_options(synchronize_session=False)
    )


def move_new(
    row: dict[str, Any], action: Action, *, now: datetime, values: dict[str, Any]
) -> State:
    """`move` for an application not stored yet (the columns of a row about to be inserted in
    bulk): the same table decides, and no other request can have moved a row that does not
    exist."""
    target = workflow.next_state(row["status"], action)
    row.update({"status": target, "updated_at": now, **values})
    return target
