"""Ten approvers decide one application at the same moment: exactly one decision lands."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Application, Decision, Role
from permits.workflow import Action, State
from tests.api_helpers import Api
from tests.factories import make_application, make_approver, make_user

APPROVERS = 10


def test_ten_simultaneous_approvals_land_exactly_once(app: Flask) -> None:
    app_id = make_application(make_user(Role.ENTERPRISE), submit=True).id
    apis = [
        Api(app.test_client(), make_approver("commerce", "310115", name=f"审批员{i}"))
        for i in range(APPROVERS)
    ]
    barrier = threading.Barrier(APPROVERS)

    def approve(api: Api) -> int:
        barrier.wait()
        response = api.post(f"/applications/{app_id}/decisions", {"decision": "approve"})
        return int(response.status_code)

    with ThreadPoolExecutor(APPROVERS) as pool:
        statuses = sorted(pool.map(approve, apis))

    assert statuses == [201] + [409] * (APPROVERS - 1)
    db.session.expire_all()  # forget what this thread loaded before the approvers acted
    decisions = db.session.scalar(
        select(func.count())
        .select_from(Decision)
        .where(Decision.application_id == app_id, Decision.action == Action.APPROVE)
    )
    assert decisions == 1
    moved = db.session.get(Application, app_id)
    assert moved.status is State.IN_REVIEW and moved.current_step == 2


def test_approve_and_reject_at_once_leave_one_consistent_outcome(app: Flask) -> None:
    app_id = make_application(make_user(Role.ENTERPRISE), submit=True).id
    approving = Api(app.test_client(), make_approver("commerce", "310115"))
    rejecting = Api(app.test_client(), make_approver("commerce", "310115"))
    barrier = threading.Barrier(2)

    def act(pair: tuple[Api, dict[str, str]]) -> int:
        api, body = pair
        barrier.wait()
        return int(api.post(f"/applications/{app_id}/decisions", body).status_code)

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(
            pool.map(
                act,
                [
                    (approving, {"decision": "approve"}),
                    (
                        rejecting,
                        {"decision": "reject", "comment": "不符合", "reason_code": "other"},
                    ),
                ],
            )
        )
    assert statuses == [201, 409]
    db.session.expire_all()
    final = db.session.get(Application, app_id)
    landed = db.session.scalars(
        select(Decision.action).where(Decision.application_id == app_id, Decision.step == 1)
    ).all()
    assert len(landed) == 1
    expected = State.REJECTED if landed[0] is Action.REJECT else State.IN_REVIEW
    assert final.status is expected


def test_a_decision_already_stored_for_the_step_is_refused_as_already_decided(app: Flask) -> None:
    """The unique (application, round, step) is the last line of defence: should a decision of
    this step be stored while the application still waits at it, the second is refused (409),
    not an error, and the first stays the only one."""
    import pytest

    from permits.models import utcnow
    from permits.services import reviews

    application = make_application(make_user(Role.ENTERPRISE), submit=True)
    first = make_approver("commerce", "310115")
    second = make_approver("commerce", "310115")
    db.session.add(
        Decision(
            application_id=application.id,
            round=application.round,
            step=application.current_step,
            action=Action.APPROVE,
            actor_id=first.id,
            department_id=first.department_id,
            created_at=utcnow(),
        )
    )
    db.session.commit()
    with pytest.raises(reviews.AlreadyDecided):
        reviews.decide(second, application, "approve", now=utcnow())
    db.session.rollback()
    stored = db.session.scalars(
        select(Decision.actor_id).where(
            Decision.application_id == application.id, Decision.step == 1
        )
    ).all()
    assert stored == [first.id]
