"""The state machine, row by row: every (state, action) pair either leads where the table says
or is refused."""

from __future__ import annotations

import pytest

from permits.workflow import (
    TRANSITIONS,
    Action,
    Facts,
    IllegalTransition,
    State,
    available_actions,
    next_state,
)

MIDDLE = Facts(is_last_step=False)
LAST = Facts(is_last_step=True)

EXPECTED = {
    (State.DRAFT, Action.SUBMIT, MIDDLE): State.IN_REVIEW,
    (State.RETURNED, Action.SUBMIT, MIDDLE): State.IN_REVIEW,
    (State.IN_REVIEW, Action.APPROVE, MIDDLE): State.IN_REVIEW,
    (State.IN_REVIEW, Action.APPROVE, LAST): State.APPROVED,
    (State.IN_REVIEW, Action.RETURN, MIDDLE): State.RETURNED,
    (State.IN_REVIEW, Action.RETURN, LAST): State.RETURNED,
    (State.IN_REVIEW, Action.REJECT, MIDDLE): State.REJECTED,
    (State.IN_REVIEW, Action.REJECT, LAST): State.REJECTED,
    (State.DRAFT, Action.WITHDRAW, MIDDLE): State.WITHDRAWN,
    (State.RETURNED, Action.WITHDRAW, MIDDLE): State.WITHDRAWN,
    (State.IN_REVIEW, Action.WITHDRAW, MIDDLE): State.WITHDRAWN,
    (State.IN_REVIEW, Action.WITHDRAW, LAST): State.WITHDRAWN,
}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("facts", [MIDDLE, LAST], ids=["middle-step", "last-step"])
def test_every_state_and_action(state: State, action: Action, facts: Facts) -> None:
    expected = EXPECTED.get((state, action, facts))
    if expected is None and (state, action, MIDDLE) in EXPECTED and action is not Action.APPROVE:
        expected = EXPECTED[(state, action, MIDDLE)]
    if expected is None:
        with pytest.raises(IllegalTransition):
            next_state(state, action, facts)
    else:
        assert next_state(state, action, facts) is expected


def test_final_states_allow_nothing() -> None:
    for state in (State.APPROVED, State.REJECTED, State.WITHDRAWN):
        assert available_actions(state) == frozenset()


def test_only_an_application_in_review_can_be_decided() -> None:
    for action in (Action.APPROVE, Action.RETURN, Action.REJECT):
        states = {t.state for t in TRANSITIONS if t.action is action}
        assert states == {State.IN_REVIEW}


def test_the_table_has_no_ambiguous_rows() -> None:
    """For any facts, at most one row applies to a (state, action) pair."""
    for facts in (MIDDLE, LAST):
        for state in State:
            for action in Action:
                matching = [
                    t
                    for t in TRANSITIONS
                    if t.state is state and t.action is action and t.guard(facts)
                ]
                assert len(matching) <= 1, (state, action, facts)


def test_nothing_else_assigns_a_state() -> None:
    """Only services/state.py writes Application.status (a code search keeps this honest)."""
    import pathlib
    import re

    package = pathlib.Path(__file__).resolve().parent.parent / "permits"
    writers = []
    for path in package.rglob("*.py"):
        text = path.read_text()
        lines = [line for line in text.splitlines() if "PassStatus" not in line]
        if re.search(r"\.status\s*=[^=]|\bstatus=State\.(?!DRAFT)", "\n".join(lines)):
            writers.append(path.relative_to(package).as_posix())
    assert writers == []
