"""The one place that writes Application.status: workflow.next_state, then a conditional UPDATE.

The UPDATE names the state, round and step the caller saw. If another request moved the
application first, no row matches and StateMoved is raised, so exactly one of several
simultaneous decisions lands, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Exists, update
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
) -> State:
    """Applies `action`; `values` are the other columns that change with it. With `unless`,
    the move is also refused (StateMoved) while that subquery finds a row."""
    target = workflow.next_state(application.status, action, facts)
    changes = {"status": target, "updated_at": now, **(values or {})}
    step_matches = (
        Application.current_step.is_(None)
        if application.current_step is None
        else Application.current_step == application.current_step
    )
    result = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.status == application.status,
            Application.round == application.round,
            step_matches,
            *(() if unless is None else (~unless,)),
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StateMoved
    for name, value in changes.items():
        set_committed_value(application, name, value)
    return target


def move_new(
    row: dict[str, Any], action: Action, *, now: datetime, values: dict[str, Any]
) -> State:
    """`move` for an application not stored yet (the columns of a row about to be inserted in
    bulk): the same table decides, and no other request can have moved a row that does not
    exist."""
    target = workflow.next_state(row["status"], action)
    row.update({"status": target, "updated_at": now, **values})
    return target
