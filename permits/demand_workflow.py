"""The demand ticket's state machine: one table of transitions. Pure Python, no Flask, no database.

A ticket is a difficulty an enterprise reports ("staff cannot return", "our supplier is
closed"); the department it is routed to accepts it, answers it, and the enterprise confirms it
solved or reopens it. Every change of a ticket's state goes through `next_state`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class DemandState(enum.StrEnum):
    #: Filed by the enterprise; waits for its department to accept it.
    OPEN = "open"
    #: The department acknowledged it and works on it.
    ACCEPTED = "accepted"
    #: The department wrote what was done or will be done; the enterprise confirms or reopens.
    ANSWERED = "answered"
    #: The enterprise said it is not solved; back to the department, the city one copied in.
    REOPENED = "reopened"
    #: Transferred too often: waits for the supervisors to choose its department.
    ASSIGNED_BY_SUPERVISOR = "assigned_by_supervisor"
    #: Confirmed solved by the enterprise, with a rating; final.
    CLOSED = "closed"
    #: Answered, and the enterprise said nothing for 7 days; final, counted apart.
    CLOSED_UNCONFIRMED = "closed_unconfirmed"
    #: Taken back by the enterprise before it was accepted; final.
    WITHDRAWN = "withdrawn"


class DemandAction(enum.StrEnum):
    FILE = "file"
    ACCEPT = "accept"
    ANSWER = "answer"
    TRANSFER = "transfer"
    #: The supervisors give a ticket that was transferred too often its department.
    ASSIGN = "assign"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    #: The periodic job closes an answer left unconfirmed.
    EXPIRE = "expire"
    WITHDRAW = "withdraw"


#: Actions that are recorded on a ticket without changing its state (history entries only).
class DemandNote(enum.StrEnum):
    NOTE = "note"
    COPY = "copy"


#: States from which nothing moves any more.
FINAL = frozenset({DemandState.CLOSED, DemandState.CLOSED_UNCONFIRMED, DemandState.WITHDRAWN})
#: States in which a department holds the ticket (its SLA clock runs).
HELD = frozenset({DemandState.OPEN, DemandState.ACCEPTED, DemandState.REOPENED})
#: Transfers a ticket may have before the next one goes to the supervisors instead.
TRANSFER_LIMIT = 2


@dataclass(frozen=True)
class Facts:
    """What the guards need to know about the ticket at the moment of the action."""

    transfers: int = 0


Guard = Callable[[Facts], bool]


def always(_facts: Facts) -> bool:
    return True


def may_transfer_again(facts: Facts) -> bool:
    return facts.transfers < TRANSFER_LIMIT


def transferred_enough(facts: Facts) -> bool:
    return facts.transfers >= TRANSFER_LIMIT


@dataclass(frozen=True)
class Transition:
    state: DemandState | None
    action: DemandAction
    target: DemandState
    guard: Guard = always


S, A = DemandState, DemandAction

#: The whole state machine. Read a row as: in `state`, `action` leads to `target` when `guard`.
#: A transfer keeps the state and changes the department, until the limit sends it upstairs.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, A.FILE, S.OPEN),
    Transition(S.OPEN, A.ACCEPT, S.ACCEPTED),
    Transition(S.OPEN, A.WITHDRAW, S.WITHDRAWN),
    Transition(S.ACCEPTED, A.ANSWER, S.ANSWERED),
    Transition(S.REOPENED, A.ANSWER, S.ANSWERED),
    Transition(S.ANSWERED, A.CONFIRM, S.CLOSED),
    Transition(S.ANSWERED, A.REOPEN, S.REOPENED),
    Transition(S.ANSWERED, A.EXPIRE, S.CLOSED_UNCONFIRMED),
    Transition(S.OPEN, A.TRANSFER, S.OPEN, may_transfer_again),
    Transition(S.ACCEPTED, A.TRANSFER, S.ACCEPTED, may_transfer_again),
    Transition(S.REOPENED, A.TRANSFER, S.REOPENED, may_transfer_again),
    Transition(S.OPEN, A.TRANSFER, S.ASSIGNED_BY_SUPERVISOR, transferred_enough),
    Transition(S.ACCEPTED, A.TRANSFER, S.ASSIGNED_BY_SUPERVISOR, transferred_enough),
    Transition(S.REOPENED, A.TRANSFER, S.ASSIGNED_BY_SUPERVISOR, transferred_enough),
    # The department the supervisors choose acknowledges the ticket afresh.
    Transition(S.ASSIGNED_BY_SUPERVISOR, A.ASSIGN, S.OPEN),
)

del S, A


class IllegalDemandTransition(Exception):
    """The action is not possible in this state (or its guard does not hold)."""

    def __init__(self, state: DemandState | None, action: DemandAction) -> None:
        where = state.value if state is not None else "not filed"
        super().__init__(f"cannot {action.value} a ticket that is {where}")
        self.state = state
        self.action = action


def next_state(
    state: DemandState | None, action: DemandAction, facts: Facts | None = None
) -> DemandState:
    """The state after `action` (None: a ticket not filed yet), or IllegalDemandTransition."""
    facts = facts or Facts()
    for transition in TRANSITIONS:
        if transition.state is state and transition.action is action and transition.guard(facts):
            return transition.target
    raise IllegalDemandTransition(state, action)


def available_actions(state: DemandState) -> frozenset[DemandAction]:
    """Every action that some guard may allow in this state."""
    return frozenset(t.action for t in TRANSITIONS if t.state is state)


def is_allowed(state: DemandState, action: DemandAction, facts: Facts | None = None) -> bool:
    try:
        next_state(state, action, facts)
    except IllegalDemandTransition:
        return False
    return True
