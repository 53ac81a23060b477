"""The demand ticket's state machine, row by row: every (state, action) pair either leads where
the table says or is refused, with and without the transfer limit reached."""

from __future__ import annotations

import pytest

from permits.demand_workflow import (
    FINAL,
    TRANSFER_LIMIT,
    DemandAction,
    DemandState,
    Facts,
    IllegalDemandTransition,
    available_actions,
    next_state,
)

S, A = DemandState, DemandAction
FRESH = Facts(transfers=0)
ONCE = Facts(transfers=1)
LIMIT = Facts(transfers=TRANSFER_LIMIT)

#: What the table must say. Facts that do not matter to a row are tried with every value.
EXPECTED: dict[tuple[DemandState | None, DemandAction], DemandState] = {
    (None, A.FILE): S.OPEN,
    (S.OPEN, A.ACCEPT): S.ACCEPTED,
    (S.OPEN, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.ANSWER): S.ANSWERED,
    (S.REOPENED, A.ANSWER): S.ANSWERED,
    (S.ANSWERED, A.CONFIRM): S.CLOSED,
    (S.ANSWERED, A.REOPEN): S.REOPENED,
    (S.ANSWERED, A.EXPIRE): S.CLOSED_UNCONFIRMED,
    (S.ASSIGNED_BY_SUPERVISOR, A.ASSIGN): S.OPEN,
}
#: A transfer keeps the state below the limit and goes to the supervisors at it.
TRANSFERABLE = (S.OPEN, S.ACCEPTED, S.REOPENED)


@pytest.mark.parametrize("state", [None, *DemandState])
@pytest.mark.parametrize("action", list(DemandAction))
@pytest.mark.parametrize("facts", [FRESH, ONCE, LIMIT], ids=["fresh", "once", "at-limit"])
def test_every_state_and_action(
    state: DemandState | None, action: DemandAction, facts: Facts
) -> None:
    if action is A.TRANSFER and state in TRANSFERABLE:
        expected: DemandState | None = (
            state if facts.transfers < TRANSFER_LIMIT else S.ASSIGNED_BY_SUPERVISOR
        )
    else:
        expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(IllegalDemandTransition):
            next_state(state, action, facts)
    else:
        assert next_state(state, action, facts) is expected


def test_the_third_transfer_goes_to_the_supervisors() -> None:
    state = S.ACCEPTED
    for transfers in range(TRANSFER_LIMIT):
        state = next_state(state, A.TRANSFER, Facts(transfers=transfers))
        assert state is S.ACCEPTED
    assert next_state(state, A.TRANSFER, Facts(transfers=TRANSFER_LIMIT)) is (
        S.ASSIGNED_BY_SUPERVISOR
    )
    assert TRANSFER_LIMIT == 2


def test_final_states_allow_nothing() -> None:
    assert {S.CLOSED, S.CLOSED_UNCONFIRMED, S.WITHDRAWN} == FINAL
    for state in FINAL:
        assert available_actions(state) == frozenset()


def test_only_an_open_ticket_can_be_withdrawn_and_only_an_answer_confirmed() -> None:
    for state in DemandState:
        assert (A.WITHDRAW in available_actions(state)) is (state is S.OPEN)
        assert (A.CONFIRM in available_actions(state)) is (state is S.ANSWERED)
        assert (A.REOPEN in available_actions(state)) is (state is S.ANSWERED)


def test_a_ticket_is_answered_only_after_it_was_accepted() -> None:
    with pytest.raises(IllegalDemandTransition, match="cannot answer a ticket that is open"):
        next_state(S.OPEN, A.ANSWER)
