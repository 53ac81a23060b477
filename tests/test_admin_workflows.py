"""The workflow editor: a saved chain is a new version for new submissions, while applications
under way finish on the version they started with; only admins change it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.models import (
    Application,
    AuditEvent,
    Kind,
    Role,
    ScopeRule,
    Workflow,
    utcnow,
)
from permits.services import issuance, reviews, workflows
from permits.services.errors import Conflict
from permits.services.workflows import StepSpec
from permits.workflow import State
from tests.conftest import csrf_token, form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_user,
)

EDIT = "/admin/workflows/work_resumption"

THREE_STEPS = [
    ("economy", "district", "24"),
    ("commerce", "city", "12"),
    ("economy", "city", "48"),
]


def chain_data(steps: list[tuple[str, str, str]], base_version: int = 1) -> dict[str, str]:
    data = {"base_version": str(base_version), "op": "save"}
    for i, (code, rule, sla) in enumerate(steps):
        data[f"steps-{i}-department_code"] = code
        data[f"steps-{i}-scope_rule"] = rule
        data[f"steps-{i}-sla_hours"] = sla
    return data


def logged_in(app: Flask, role: Role) -> FlaskClient:
    client = app.test_client()
    login(client, make_user(role).email, PASSWORD)
    return client


def versions(kind: Kind = Kind.WORK_RESUMPTION) -> list[tuple[int, bool, int]]:
    """(version, is_current, number of steps) of every stored version, oldest first."""
    rows = db.session.scalars(
        select(Workflow).where(Workflow.kind == kind).order_by(Workflow.version)
    ).all()
    found = [(w.version, w.is_current, len(w.steps)) for w in rows]
    db.session.commit()
    return found


def work_application() -> Application:
    return make_application(kind="work_resumption", submit=True)


def approve_current_step(application: Application) -> None:
    code, scope = application.current_department_code, application.current_scope
    assert code is not None and scope is not None
    reviews.decide(make_approver(code, scope), application, "approve", now=utcnow())
    db.session.commit()


def queue_ids(client: FlaskClient) -> str:
    return client.get("/review/").get_data(as_text=True)


# --- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_other_roles_are_refused_the_workflow_pages(app: Flask, role: Role) -> None:
    client = logged_in(app, role)
    assert client.get("/admin/workflows").status_code == 403
    assert client.get(EDIT).status_code == 403
    assert form_post(client, EDIT, chain_data(THREE_STEPS)).status_code == 403
    assert versions() == []


def test_anonymous_visitors_are_sent_to_log_in(app: Flask) -> None:
    client = app.test_client()
    for path in ("/admin/workflows", EDIT):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(EDIT, data=chain_data(THREE_STEPS)).status_code in (302, 400, 401)
    assert versions() == []


def test_supervisors_read_the_chains_but_cannot_edit_them(app: Flask) -> None:
    work_application()  # stores version 1
    client = logged_in(app, Role.SUPERVISOR)
    page = client.get("/admin/workflows")
    assert page.status_code == 200
    assert EDIT not in page.get_data(as_text=True)
    assert client.get(EDIT).status_code == 403
    assert form_post(client, EDIT, chain_data(THREE_STEPS)).status_code == 403
    assert versions() == [(1, True, 2)]


# --- the list ----------------------------------------------------------------------------


def test_the_list_shows_each_kinds_chain_before_any_is_stored(app: Flask) -> None:
    client = logged_in(app, Role.ADMIN)
    text = client.get("/admin/workflows", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "By cargo category" in text
    assert "/admin/workflows/vehicle_pass" in text and EDIT in text
    assert versions() == []  # reading stores nothing


def test_the_list_shows_the_version_history(app: Flask) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    assert form_post(client, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302
    english = {"Accept-Language": "en"}
    text = client.get("/admin/workflows", headers=english).get_data(as_text=True)
    section = text.split('id="chain-work_resumption"')[1].split("</section>")[0]
    assert section.count("<tr>") == 1 + 3  # header and the three steps of version 2
    heading, history = section.split("<h3>")
    assert "version 2" in heading
    assert history.count("<li>") == 2 and "version 1" in history
    assert "Commerce Commission" in history


# --- editing -----------------------------------------------------------------------------


def test_saving_a_chain_creates_a_new_version_and_keeps_the_old_one(app: Flask) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    assert client.get(EDIT).status_code == 200
    response = form_post(client, EDIT, chain_data(THREE_STEPS), page=EDIT)
    assert response.status_code == 302
    assert versions() == [(1, False, 2), (2, True, 3)]
    current = workflows.current_workflow(Kind.WORK_RESUMPTION)
    assert [(s.position, s.department_code, s.scope_rule, s.sla_hours) for s in current.steps] == [
        (1, "economy", ScopeRule.DISTRICT, 24),
        (2, "commerce", ScopeRule.CITY, 12),
        (3, "economy", ScopeRule.CITY, 48),
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workflow.save"))
    assert event is not None and event.details["version"] == 2
    assert [s["department_code"] for s in event.details["steps"]] == [
        "economy",
        "commerce",
        "economy",
    ]
    db.session.commit()


def test_the_first_save_starts_from_the_default_chain(app: Flask) -> None:
    client = logged_in(app, Role.ADMIN)
    page = client.get(EDIT).get_data(as_text=True)
    assert 'name="base_version" type="hidden" value="1"' in page
    assert form_post(client, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302
    assert versions() == [(1, False, 2), (2, True, 3)]


def test_moving_adding_and_removing_rows_saves_nothing(app: Flask) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    data = chain_data(THREE_STEPS)

    moved = form_post(client, EDIT, {**data, "op": "up-1"}, page=EDIT)
    assert moved.status_code == 200
    text = moved.get_data(as_text=True)
    first = text.split('id="steps-0-department_code"')[1].split("</select>")[0]
    assert 'selected value="commerce"' in first

    added = form_post(client, EDIT, {**data, "op": "add"}, page=EDIT).get_data(as_text=True)
    assert 'id="steps-3-sla_hours"' in added

    removed = form_post(client, EDIT, {**data, "op": "remove-0"}, page=EDIT).get_data(as_text=True)
    assert 'id="steps-2-sla_hours"' not in removed
    assert 'value="12"' in removed.split('id="steps-0-sla_hours"')[1][:200]

    assert form_post(client, EDIT, {**data, "op": "sideways-1"}, page=EDIT).status_code == 400
    assert versions() == [(1, True, 2)]


@pytest.mark.parametrize(
    ("steps", "message_at"),
    [
        ([("economy", "district", "0")], 'id="steps-0-sla_hours-error"'),
        ([("economy", "district", "721")], 'id="steps-0-sla_hours-error"'),
        ([("economy", "district", "a day")], 'id="steps-0-sla_hours-error"'),
        (
            [("economy", "district", "24"), ("police", "city", "24")],
            'id="steps-1-department_code-error"',
        ),
        ([("by_cargo", "district", "24")], 'id="steps-0-department_code-error"'),
        ([("economy", "everywhere", "24")], 'id="steps-0-scope_rule-error"'),
        ([], 'role="alert"'),
    ],
)
def test_a_bad_chain_is_answered_at_the_field_and_nothing_is_saved(
    app: Flask, steps: list[tuple[str, str, str]], message_at: str
) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    response = form_post(client, EDIT, chain_data(steps), page=EDIT)
    assert response.status_code == 422
    assert message_at in response.get_data(as_text=True)
    assert versions() == [(1, True, 2)]


def test_a_vehicle_chain_may_route_any_step_by_cargo(app: Flask) -> None:
    client = logged_in(app, Role.ADMIN)
    steps = [("transport", "district", "6"), ("by_cargo", "city", "12")]
    response = form_post(client, "/admin/workflows/vehicle_pass", chain_data(steps), page=EDIT)
    assert response.status_code == 302
    assert versions(Kind.VEHICLE_PASS) == [(1, False, 2), (2, True, 2)]


def test_saving_the_same_chain_again_stores_no_new_version(app: Flask) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    same = [("economy", "district", "24"), ("economy", "city", "24")]
    response = form_post(client, EDIT, chain_data(same), page=EDIT)
    assert response.status_code == 302
    assert versions() == [(1, True, 2)]


def test_saving_from_a_stale_version_is_refused(app: Flask) -> None:
    work_application()
    client = logged_in(app, Role.ADMIN)
    assert form_post(client, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302
    stale = form_post(client, EDIT, chain_data(THREE_STEPS[:1], base_version=1), page=EDIT)
    assert stale.status_code == 409
    assert versions() == [(1, False, 2), (2, True, 3)]


def test_two_admins_saving_at_once_leave_one_current_version(app: Flask) -> None:
    work_application()
    clients = [logged_in(app, Role.ADMIN), logged_in(app, Role.ADMIN)]
    tokens = [csrf_token(c, EDIT) for c in clients]
    chains = [THREE_STEPS, THREE_STEPS[:1]]
    barrier = threading.Barrier(2)

    def save(i: int) -> int:
        barrier.wait()
        data = {**chain_data(chains[i]), "csrf_token": tokens[i]}
        return int(clients[i].post(EDIT, data=data).status_code)

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(save, [0, 1]))
    assert statuses == [302, 409]
    db.session.expire_all()
    found = versions()
    assert [(v, current) for v, current, _n in found] == [(1, False), (2, True)]


def test_two_saves_from_the_same_version_in_the_services_are_refused_once(app: Flask) -> None:
    work_application()
    admin = make_user(Role.ADMIN)
    one = [StepSpec("economy", ScopeRule.CITY, 24)]
    workflows.save_chain(Kind.WORK_RESUMPTION, one, base_version=1, actor=admin, now=utcnow())
    db.session.commit()
    with pytest.raises(Conflict):
        workflows.save_chain(Kind.WORK_RESUMPTION, one, base_version=1, actor=admin, now=utcnow())
    db.session.rollback()
    assert versions() == [(1, False, 2), (2, True, 1)]


# --- applications under way --------------------------------------------------------------


def test_an_application_under_way_finishes_on_its_version_and_a_new_one_follows_the_new_chain(
    app: Flask,
) -> None:
    before = work_application()
    assert before.current_step == 1
    admin = logged_in(app, Role.ADMIN)
    assert form_post(admin, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302
    after = work_application()

    # The old application: economy of Pudong, then economy of the city, then its pass.
    approve_current_step(before)
    db.session.refresh(before)
    assert (before.current_step, before.current_department_code, before.current_scope) == (
        2,
        "economy",
        "city",
    )
    approve_current_step(before)
    db.session.refresh(before)
    assert before.status is State.APPROVED
    assert issuance.pass_of(before) is not None
    db.session.commit()

    # The new one: economy of Pudong, commerce of the city, economy of the city.
    approve_current_step(after)
    db.session.refresh(after)
    assert (after.current_step, after.current_department_code, after.current_scope) == (
        2,
        "commerce",
        "city",
    )
    after_id = after.id
    commerce = app.test_client()
    login(commerce, make_approver("commerce", "city").email, PASSWORD)
    economy = app.test_client()
    login(economy, make_approver("economy", "city").email, PASSWORD)
    assert f"#{after_id}" in queue_ids(commerce)
    assert f"#{after_id}" not in queue_ids(economy)
    assert commerce.get(f"/applications/{after_id}").status_code == 200

    approve_current_step(after)
    db.session.refresh(after)
    assert (after.status, after.current_step, after.current_department_code) == (
        State.IN_REVIEW,
        3,
        "economy",
    )
    assert f"#{after_id}" in queue_ids(economy)
    approve_current_step(after)
    db.session.refresh(after)
    assert after.status is State.APPROVED and issuance.pass_of(after) is not None
    db.session.commit()


def test_a_city_department_new_to_the_chain_cannot_see_an_application_on_the_old_version(
    app: Flask,
) -> None:
    before = work_application()
    admin = logged_in(app, Role.ADMIN)
    assert form_post(admin, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302
    commerce = app.test_client()
    login(commerce, make_approver("commerce", "city").email, PASSWORD)
    assert commerce.get(f"/applications/{before.id}").status_code == 404


def test_a_resubmission_after_a_return_follows_the_current_version(app: Flask) -> None:
    from permits.services import applications

    application = work_application()
    first_version = application.workflow_id
    code, scope = application.current_department_code, application.current_scope
    assert code is not None and scope is not None
    reviews.decide(
        make_approver(code, scope), application, "return", comment="补充材料", now=utcnow()
    )
    db.session.commit()
    admin = logged_in(app, Role.ADMIN)
    assert form_post(admin, EDIT, chain_data(THREE_STEPS), page=EDIT).status_code == 302

    db.session.refresh(application)
    applications.submit(application.created_by, application, now=utcnow())
    db.session.commit()
    assert application.workflow_id != first_version
    assert application.workflow is not None and application.workflow.version == 2
    assert len(application.workflow.steps) == 3


def test_a_department_dropped_from_the_chain_still_reads_what_it_decided(app: Flask) -> None:
    from permits.services import applications

    application = work_application()
    code, scope = application.current_department_code, application.current_scope
    assert code is not None and scope is not None
    returner = make_approver(code, scope)
    reviews.decide(returner, application, "return", comment="补充材料", now=utcnow())
    db.session.commit()
    admin = logged_in(app, Role.ADMIN)
    city_only = [("economy", "city", "24")]
    assert form_post(admin, EDIT, chain_data(city_only), page=EDIT).status_code == 302
    db.session.refresh(application)
    applications.submit(application.created_by, application, now=utcnow())
    db.session.commit()
    browser = app.test_client()
    login(browser, returner.email, PASSWORD)
    page = browser.get(f"/applications/{application.id}")
    assert page.status_code == 200 and "补充材料" in page.get_data(as_text=True)
