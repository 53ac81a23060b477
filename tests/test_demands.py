"""Demand tickets through their services: routed to the right department, handled, reopened,
confirmed; transfers bounded by the supervisors; unconfirmed answers closed after their time;
simultaneous changes refused but one; and nobody acting outside their part."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from permits.demand_workflow import DemandState
from permits.extensions import db
from permits.models import (
    CITY_SCOPE,
    Demand,
    DemandCategory,
    DemandCopy,
    DemandEvent,
    Notification,
    Role,
    User,
)
from permits.services import demand_handling, demand_routing, demands
from permits.services.demand_changes import can_see
from permits.services.errors import Conflict, NotAllowed, ValidationFailed
from tests.factories import make_application, make_department, make_enterprise, make_user

#: Monday 7 December 2026, 10:00 in Shanghai.
MONDAY = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def enterprise_user(district: str = "310115") -> User:
    return make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=district))


def handler(code: str = "economy", scope: str = "310115", role: Role = Role.HANDLER) -> User:
    return make_user(role, department=make_department(code, scope))


def filed(user: User, category: str = "staff_return", **fields: object) -> Demand:
    demand = demands.file_demand(
        user,
        category=category,
        title=str(fields.pop("title", "员工无法返岗")),
        description=str(fields.pop("description", "小区封控，12名员工无法到岗。")),
        now=MONDAY,
        **fields,  # type: ignore[arg-type]
    )
    db.session.commit()
    return demand


def history(demand: Demand) -> list[str]:
    return list(
        db.session.scalars(
            select(DemandEvent.action)
            .where(DemandEvent.demand_id == demand.id)
            .order_by(DemandEvent.id)
        )
    )


def test_a_ticket_goes_to_the_lead_department_of_its_district_and_its_staff_are_told(
    app: Flask,
) -> None:
    staff = handler("economy", "310115")
    approver = handler("economy", "310115", role=Role.APPROVER)
    other_district = handler("economy", "310104")
    demand = filed(enterprise_user("310115"))
    assert (demand.status, demand.department_code, demand.scope) == (
        DemandState.OPEN,
        "economy",
        "310115",
    )
    # Four working hours from Monday 10:00 in Shanghai: 14:00, i.e. 06:00 UTC.
    assert demand.due_at == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    told = set(
        db.session.scalars(select(Notification.user_id).where(Notification.demand_id == demand.id))
    )
    assert told == {staff.id, approver.id}
    assert other_district.id not in told
    assert history(demand) == ["file"]


@pytest.mark.parametrize(
    ("category", "code"),
    [
        ("logistics", "transport"),
        ("testing", "health"),
        ("finance", "development_reform"),
        ("policy", "economy"),
    ],
)
def test_each_category_is_routed_as_the_table_says(app: Flask, category: str, code: str) -> None:
    make_department(code, "310115")
    assert filed(enterprise_user(), category).department_code == code


def test_a_district_without_the_department_sends_it_to_the_city_one(app: Flask) -> None:
    make_department("transport", CITY_SCOPE)
    demand = filed(enterprise_user("310115"), "logistics")
    assert (demand.department_code, demand.scope) == ("transport", CITY_SCOPE)


def test_a_new_routing_version_routes_new_tickets_and_keeps_the_old_ones(app: Flask) -> None:
    admin = make_user(Role.ADMIN)
    user = enterprise_user()
    before = filed(user, "testing")
    routing = demand_routing.current_routing()
    routes = demand_routing.routes_of(routing) | {DemandCategory.TESTING: "economy"}
    saved = demand_routing.save_routing(
        routes, base_version=routing.version, actor=admin, now=MONDAY
    )
    db.session.commit()
    after = filed(user, "testing")
    assert (before.department_code, after.department_code) == ("health", "economy")
    assert (before.routing_id, after.routing_id) == (routing.id, saved.id)
    with pytest.raises(Conflict):
        demand_routing.save_routing(routes, base_version=routing.version, actor=admin, now=MONDAY)


def test_the_whole_journey_file_accept_answer_reopen_answer_confirm(app: Flask) -> None:
    user = enterprise_user()
    district = handler("economy", "310115")
    city = handler("economy", CITY_SCOPE)
    demand = filed(user)
    demand_handling.accept(district, demand, now=MONDAY + timedelta(hours=1))
    demand_handling.answer(
        district, demand, response="已协调街道开具返岗证明。", now=MONDAY + timedelta(hours=2)
    )
    db.session.commit()
    assert demand.status is DemandState.ANSWERED
    assert demand.due_at == MONDAY + timedelta(hours=2, days=7)

    demands.reopen(user, demand, reason="证明不被小区认可。", now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert demand.status is DemandState.REOPENED
    assert (demand.department_code, demand.scope) == ("economy", "310115")
    assert [c.department_id for c in demand.copies] == [city.department_id]
    assert can_see(city, demand)

    demand_handling.answer(
        district, demand, response="市经信委已发函。", now=MONDAY + timedelta(days=2)
    )
    demands.confirm(user, demand, rating=4, comment="谢谢", now=MONDAY + timedelta(days=3))
    db.session.commit()
    assert (demand.status, demand.rating) == (DemandState.CLOSED, 4)
    assert (demand.department_code, demand.scope) == ("economy", "310115")  # it handled it
    assert demand.due_at is None and demand.closed_at is not None
    assert can_see(district, demand)  # the department still reads the ticket it handled
    assert history(demand) == ["file", "accept", "answer", "reopen", "copy", "answer", "confirm"]


def test_an_answer_needs_an_acceptance_first_and_a_response(app: Flask) -> None:
    staff = handler()
    demand = filed(enterprise_user())
    with pytest.raises(Conflict):
        demand_handling.answer(staff, demand, response="已处理", now=MONDAY)
    demand_handling.accept(staff, demand, now=MONDAY)
    with pytest.raises(ValidationFailed) as refused:
        demand_handling.answer(staff, demand, response="  ", now=MONDAY)
    assert set(refused.value.fields) == {"response"}


def test_two_transfers_move_it_and_the_third_goes_to_the_supervisors(app: Flask) -> None:
    economy, transport, commerce = (handler(c) for c in ("economy", "transport", "commerce"))
    supervisor = make_user(Role.SUPERVISOR)
    demand = filed(enterprise_user())
    demand_handling.transfer(
        economy, demand, department_code="transport", reason="物流问题", now=MONDAY
    )
    demand_handling.transfer(
        transport, demand, department_code="commerce", reason="属商务", now=MONDAY
    )
    assert (demand.status, demand.department_code, demand.transfers) == (
        DemandState.OPEN,
        "commerce",
        2,
    )
    demand_handling.transfer(
        commerce, demand, department_code="economy", reason="仍属经济", now=MONDAY
    )
    db.session.commit()
    assert demand.status is DemandState.ASSIGNED_BY_SUPERVISOR
    assert demand.department_code is None
    assert db.session.scalar(
        select(func.count()).where(
            Notification.demand_id == demand.id,
            Notification.user_id == supervisor.id,
            Notification.event == "demand_to_assign",
        )
    )
    with pytest.raises(NotAllowed):
        demand_handling.assign(
            economy, demand, department_code="economy", scope="310115", now=MONDAY
        )
    demand_handling.assign(
        supervisor, demand, department_code="transport", scope="310115", now=MONDAY
    )
    db.session.commit()
    assert (demand.status, demand.department_code, demand.transfers) == (
        DemandState.OPEN,
        "transport",
        0,
    )


def test_a_transfer_needs_a_reason_and_another_department(app: Flask) -> None:
    staff = handler()
    demand = filed(enterprise_user())
    with pytest.raises(ValidationFailed) as refused:
        demand_handling.transfer(staff, demand, department_code="economy", reason="", now=MONDAY)
    assert set(refused.value.fields) == {"department", "reason"}


def test_only_an_open_ticket_is_withdrawn_and_only_by_its_enterprise(app: Flask) -> None:
    user, stranger = enterprise_user(), enterprise_user()
    staff = handler()
    first, second = filed(user), filed(user)
    with pytest.raises(NotAllowed):
        demands.withdraw(stranger, first, now=MONDAY)
    demands.withdraw(user, first, now=MONDAY)
    demand_handling.accept(staff, second, now=MONDAY)
    with pytest.raises(Conflict):
        demands.withdraw(user, second, now=MONDAY)
    db.session.commit()
    assert (first.status, second.status) == (DemandState.WITHDRAWN, DemandState.ACCEPTED)


def test_an_answer_left_unconfirmed_closes_after_seven_days(app: Flask) -> None:
    staff = handler()
    user = enterprise_user()
    demand = filed(user)
    demand_handling.accept(staff, demand, now=MONDAY)
    demand_handling.answer(staff, demand, response="已处理", now=MONDAY)
    db.session.commit()
    assert demand_handling.close_unconfirmed(now=MONDAY + timedelta(days=6, hours=23)) == 0
    assert demand_handling.close_unconfirmed(now=MONDAY + timedelta(days=7)) == 1
    db.session.commit()
    assert demand.status is DemandState.CLOSED_UNCONFIRMED
    with pytest.raises(Conflict):
        demands.confirm(user, demand, rating=5, now=MONDAY + timedelta(days=8))


def test_a_rating_is_one_to_five(app: Flask) -> None:
    staff = handler()
    user = enterprise_user()
    demand = filed(user)
    demand_handling.accept(staff, demand, now=MONDAY)
    demand_handling.answer(staff, demand, response="已处理", now=MONDAY)
    for wrong in (0, 6, "x", None, True):
        with pytest.raises(ValidationFailed) as refused:
            demands.confirm(user, demand, rating=wrong, now=MONDAY)
        assert set(refused.value.fields) == {"rating"}
    demands.confirm(user, demand, rating="5", now=MONDAY)
    assert demand.rating == 5


def test_filing_checks_every_field_and_links_only_the_enterprises_own(app: Flask) -> None:
    user, stranger = enterprise_user(), enterprise_user()
    theirs = make_application(stranger)
    with pytest.raises(ValidationFailed) as refused:
        demands.file_demand(
            user,
            category="rent",
            title="",
            description="x" * 2001,
            application_id=theirs.id,
            pass_number="3101150000001",
            now=MONDAY,
        )
    assert set(refused.value.fields) == {
        "category",
        "title",
        "description",
        "application_id",
        "pass_number",
    }
    assert db.session.scalar(select(func.count()).select_from(Demand)) == 0
    mine = make_application(user)
    assert filed(user, application_id=mine.id).application_id == mine.id


def test_who_sees_and_who_handles(app: Flask) -> None:
    user, stranger = enterprise_user(), enterprise_user()
    staff, elsewhere = handler("economy", "310115"), handler("economy", "310104")
    health = handler("health", "310115")
    supervisor, admin = make_user(Role.SUPERVISOR), make_user(Role.ADMIN)
    demand = filed(user)
    assert [can_see(u, demand) for u in (user, stranger, staff, elsewhere, health)] == [
        True,
        False,
        True,
        False,
        False,
    ]
    assert can_see(supervisor, demand) and can_see(admin, demand)
    with pytest.raises(NotAllowed):
        demand_handling.accept(elsewhere, demand, now=MONDAY)
    with pytest.raises(NotAllowed):
        demand_handling.add_note(health, demand, text="看看", now=MONDAY)
    demand_handling.copy_to(staff, demand, department_code="health", now=MONDAY)
    demand_handling.copy_to(staff, demand, department_code="health", now=MONDAY)  # once only
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DemandCopy)) == 1
    assert can_see(health, demand)
    demand_handling.add_note(health, demand, text="已联系检测机构", now=MONDAY)
    with pytest.raises(NotAllowed):
        demand_handling.accept(health, demand, now=MONDAY)  # copied in, not holding it
    with pytest.raises(NotAllowed):
        demand_handling.accept(supervisor, demand, now=MONDAY)


def test_of_simultaneous_acceptances_one_lands(app: Flask) -> None:
    """Six officers of the department press "accept" at once: one succeeds, the others get a
    Conflict (409), and the history holds one acceptance, on PostgreSQL and SQLite."""
    officers = [handler().id for _ in range(6)]
    demand_id = filed(enterprise_user()).id
    db.session.commit()  # this thread holds no lock (SQLite) while the officers act
    start = threading.Barrier(len(officers), timeout=30)
    outcomes: list[str] = []

    def press(officer_id: int) -> None:
        start.wait()
        with app.app_context():  # a request of its own, as a server thread would serve it
            try:
                officer = db.session.get(User, officer_id)
                demand = db.session.get(Demand, demand_id)
                assert officer is not None and demand is not None
                demand_handling.accept(officer, demand, now=MONDAY)
                db.session.commit()
                outcomes.append("accepted")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(officer,)) for officer in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] + ["conflict"] * (len(officers) - 1)
    db.session.expire_all()
    demand = db.session.get(Demand, demand_id)
    assert demand is not None and demand.status is DemandState.ACCEPTED
    assert history(demand) == ["file", "accept"]


def test_an_overdue_ticket_is_escalated_once_per_level(app: Flask) -> None:
    """Not accepted within 4 working hours: its department is told; past twice that, the
    supervisors too; a second run tells nobody again, and accepting starts a new clock."""
    from permits.services import demand_escalation

    staff = handler()
    supervisor = make_user(Role.SUPERVISOR)
    demand = filed(enterprise_user())  # due Monday 14:00 in Shanghai, four hours after filing

    def told(user: User, event: str) -> int:
        return int(
            db.session.scalar(
                select(func.count()).where(
                    Notification.user_id == user.id,
                    Notification.demand_id == demand.id,
                    Notification.event == event,
                )
            )
            or 0
        )

    escalate = demand_escalation.escalate_overdue_demands
    assert escalate(MONDAY + timedelta(hours=3)).to_departments == 0
    assert escalate(MONDAY + timedelta(hours=5)).to_departments == 1
    assert escalate(MONDAY + timedelta(hours=6)).to_departments == 0  # told already
    assert escalate(MONDAY + timedelta(hours=9)).to_supervisors == 1  # past twice the time
    db.session.commit()
    assert (told(staff, "demand_overdue"), told(supervisor, "demand_overdue_twice")) == (1, 1)
    demand_handling.accept(staff, demand, now=MONDAY + timedelta(hours=10))
    db.session.commit()
    assert demand.escalation_level == 0 and demand.due_from == MONDAY + timedelta(hours=10)
    assert escalate(MONDAY + timedelta(hours=11)).to_departments == 0  # three days to answer


def test_the_commands_escalate_and_close_from_a_timer(app: Flask) -> None:
    staff = handler()
    demand = filed(enterprise_user())
    answered_at = datetime.now(UTC) - timedelta(days=8)  # the commands run at the real time
    demand_handling.accept(staff, demand, now=answered_at)
    demand_handling.answer(staff, demand, response="已处理", now=answered_at)
    db.session.commit()
    runner = app.test_cli_runner()
    escalated = runner.invoke(args=["escalate"])
    assert escalated.exit_code == 0, escalated.output
    assert "Escalated 0 overdue demand ticket(s)" in escalated.output
    closed = runner.invoke(args=["demands", "close-unconfirmed"])
    assert closed.exit_code == 0, closed.output
    assert "Closed 1 answered ticket(s) without confirmation." in closed.output
    db.session.expire_all()
    assert db.session.get(Demand, demand.id).status is DemandState.CLOSED_UNCONFIRMED  # type: ignore[union-attr]
