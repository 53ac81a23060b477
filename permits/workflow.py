"""The application state machine: one table of transitions. Pure Python, no Flask, no database.

Every state change of an application goes through `next_state`; nothing else assigns a state.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class State(enum.StrEnum):
    #: Being prepared by the enterprise; editable.
    DRAFT = "draft"
    #: Waiting at a step of the workflow.
    IN_REVIEW = "in_review"
    #: Sent back to the enterprise with a comment; editable, then resubmitted from step 1.
    RETURNED = "returned"
    #: Every step approved; the pass is issued in the same transaction.
    APPROVED = "approved"
    #: Refused with a reason; final.
    REJECTED = "rejected"
    #: Taken back by the enterprise; final.
    WITHDRAWN = "withdrawn"


class Action(enum.StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    WITHDRAW = "withdraw"


#: The actions an approver takes at a step (each is a Decision at that step).
DECISIONS = frozenset({Action.APPROVE, Action.RETURN, Action.REJECT})
#: States in which the enterprise may still change the application's fields.
EDITABLE = frozenset({State.DRAFT, State.RETURNED})
#: States from which nothing moves any more.
FINAL = frozenset({State.APPROVED, State.REJECTED, State.WITHDRAWN})


@dataclass(frozen=True)
class Facts:
    """What the guards need to know about the application at the moment of the action."""

    is_last_step: bool = False


Guard = Callable[[Facts], bool]


def always(_facts: Facts) -> bool:
    return True


def at_last_step(facts: Facts) -> bool:
    return facts.is_last_step


def before_last_step(facts: Facts) -> bool:
    return not facts.is_last_step


@dataclass(frozen=True)
class Transition:
    state: State
    action: Action
    target: State
    guard: Guard = always


#: The whole state machine. Read a row as: in `state`, `action` leads to `target` when `guard`.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.DRAFT, Action.SUBMIT, State.IN_REVIEW),
    Transition(State.RETURNED, Action.SUBMIT, State.IN_REVIEW),
    Transition(State.IN_REVIEW, Action.APPROVE, State.IN_REVIEW, before_last_step),
    Transition(State.IN_REVIEW, Action.APPROVE, State.APPROVED, at_last_step),
    Transition(State.IN_REVIEW, Action.RETURN, State.RETURNED),
    Transition(State.IN_REVIEW, Action.REJECT, State.REJECTED),
    Transition(State.DRAFT, Action.WITHDRAW, State.WITHDRAWN),
    Transition(State.RETURNED, Action.WITHDRAW, State.WITHDRAWN),
    Transition(State.IN_REVIEW, Action.WITHDRAW, State.WITHDRAWN),
)


class IllegalTransition(Exception):
    """The action is not possible in this state (or its guard does not hold)."""

    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"cannot {action.value} an application that is {state.value}")
        self.state = state
        self.action = action


def next_state(state: State, action: Action, facts: Facts | None = None) -> State:
    """The state after `action`, or IllegalTransition."""
    facts = facts or Facts()
    for transition in TRANSITIONS:
        if transition.state is state and transition.action is action and transition.guard(facts):
            return transition.target
    raise IllegalTransition(state, action)


def available_actions(state: State) -> frozenset[Action]:
    """Every action that some guard may allow in this state."""
    return frozenset(t.action for t in TRANSITIONS if t.state is state)


def is_allowed(state: State, action: Action, facts: Facts | None = None) -> bool:
    try:
        next_state(state, action, facts)
    except IllegalTransition:
        return False
    return True
