"""Departments and checkpoints in the administration: admins change them, supervisors only read,
everyone else is refused; bad input is answered at the field and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import AuditEvent, Checkpoint, Department, Role
from tests.conftest import form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_checkpoint,
    make_department,
    make_user,
)

PAGES = ["/admin/departments", "/admin/checkpoints"]


def logged_in(app: Flask, role: Role, **fields: Any) -> FlaskClient:
    client = app.test_client()
    login(client, make_user(role, **fields).email, PASSWORD)
    return client


def admin_client(app: Flask) -> FlaskClient:
    return logged_in(app, Role.ADMIN)


def count(model: Any) -> int:
    result = db.session.scalar(select(func.count()).select_from(model))
    db.session.commit()
    return int(result or 0)


def actions(prefix: str) -> list[str]:
    rows = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like(f"{prefix}%")))
    found = list(rows)
    db.session.commit()
    return found


def change_paths() -> list[tuple[str, dict[str, str]]]:
    department = make_department("commerce", "310104")
    checkpoint = make_checkpoint("CP-X")
    return [
        ("/admin/departments/new", {"department": "health", "scope": "city"}),
        (f"/admin/departments/{department.id}", {"department": "health", "scope": "310104"}),
        (f"/admin/departments/{department.id}/delete", {}),
        ("/admin/checkpoints/new", {"code": "NEW-1", "name": "新卡口", "district": "310115"}),
        (
            f"/admin/checkpoints/{checkpoint.id}",
            {"code": "CP-X", "name": "改名", "district": "310114"},
        ),
    ]


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_other_roles_are_refused_every_page_and_action(app: Flask, role: Role) -> None:
    paths = change_paths()
    client = logged_in(app, role)
    before = count(Department), count(Checkpoint)
    for page in PAGES + [path for path, _data in paths if not path.endswith("/delete")]:
        assert client.get(page).status_code == 403, page
    for path, data in paths:
        assert form_post(client, path, data).status_code == 403, path
    assert (count(Department), count(Checkpoint)) == before


def test_anonymous_visitors_are_sent_to_log_in(app: Flask) -> None:
    paths = change_paths()
    client = app.test_client()
    for page in PAGES + [path for path, _data in paths if not path.endswith("/delete")]:
        response = client.get(page)
        assert response.status_code in (302, 401), page
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
    for path, data in paths:
        assert client.post(path, data=data).status_code in (302, 400, 401), path
    assert count(Department) == 1


def test_supervisors_read_the_lists_but_change_nothing(app: Flask) -> None:
    paths = change_paths()
    make_approver("commerce", "310104")
    client = logged_in(app, Role.SUPERVISOR)
    departments = client.get("/admin/departments")
    assert departments.status_code == 200
    assert "Commerce Commission" in departments.get_data(as_text=True) or "商务委员会" in (
        departments.get_data(as_text=True)
    )
    assert "/admin/departments/new" not in departments.get_data(as_text=True)
    checkpoints = client.get("/admin/checkpoints")
    assert checkpoints.status_code == 200 and "CP-X" in checkpoints.get_data(as_text=True)
    for path, data in paths:
        assert form_post(client, path, data).status_code == 403, path
    assert count(Department) == 1 and count(Checkpoint) == 1
    assert actions("department.change") == [] and actions("checkpoint.change") == []


def test_the_department_list_names_each_department_its_scope_and_its_approvers(
    app: Flask,
) -> None:
    make_approver("commerce", "310104")
    make_approver("commerce", "310104")
    make_department("transport", "city")
    client = admin_client(app)
    page = client.get("/admin/departments?lang=en", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    rows = text.split("<tr>")[2:]
    commerce = next(r for r in rows if ">commerce<" in r)
    transport = next(r for r in rows if ">transport<" in r)
    assert "<td>2</td>" in commerce and "310104" in commerce
    assert "<td>0</td>" in transport and ("Whole city" in transport or "全市" in transport)


def test_an_admin_creates_a_department_and_a_duplicate_is_refused_at_the_field(
    app: Flask,
) -> None:
    client = admin_client(app)
    created = form_post(
        client, "/admin/departments/new", {"department": "health", "scope": "310115"}
    )
    assert created.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "health"))
    assert department is not None and department.scope == "310115"
    db.session.commit()
    assert actions("department.create") == ["department.create"]

    again = form_post(client, "/admin/departments/new", {"department": "health", "scope": "310115"})
    assert again.status_code == 409
    assert 'id="scope-error"' in again.get_data(as_text=True)
    assert count(Department) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"department": "police", "scope": "city"}, "department"),
        ({"department": "health", "scope": "320583"}, "scope"),
        ({"department": "health", "scope": ""}, "scope"),
    ],
)
def test_a_bad_department_is_answered_at_its_field_and_nothing_is_written(
    app: Flask, data: dict[str, str], field: str
) -> None:
    client = admin_client(app)
    response = form_post(client, "/admin/departments/new", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count(Department) == 0
    assert actions("department.") == []


def test_an_unused_department_can_have_its_scope_corrected(app: Flask) -> None:
    department = make_department("commerce", "310104")
    client = admin_client(app)
    assert client.get(f"/admin/departments/{department.id}").status_code == 200
    response = form_post(
        client, f"/admin/departments/{department.id}", {"department": "commerce", "scope": "310105"}
    )
    assert response.status_code == 302
    db.session.refresh(department)
    assert department.scope == "310105"
    db.session.commit()
    assert actions("department.change") == ["department.change"]


def test_a_department_with_approvers_keeps_its_code_and_scope(app: Flask) -> None:
    approver = make_approver("commerce", "310104")
    department_id = approver.department_id
    client = admin_client(app)
    page = client.get(f"/admin/departments/{department_id}").get_data(as_text=True)
    assert "/admin/departments/new" in page  # what to do instead is offered
    response = form_post(
        client, f"/admin/departments/{department_id}", {"department": "commerce", "scope": "city"}
    )
    assert response.status_code == 409
    assert 'id="department-error"' in response.get_data(as_text=True)
    department = db.session.get(Department, department_id)
    assert department is not None and department.scope == "310104"
    db.session.commit()
    refused = form_post(client, f"/admin/departments/{department_id}/delete", {})
    assert refused.status_code == 302
    assert db.session.get(Department, department_id) is not None
    db.session.commit()


def test_a_department_with_decisions_keeps_its_code_and_scope(app: Flask) -> None:
    from permits.models import utcnow
    from permits.services import reviews

    application = make_application(submit=True)
    approver = make_approver(application.current_department_code, application.current_scope)
    reviews.decide(approver, application, "approve", now=utcnow())
    db.session.commit()
    department_id = approver.department_id
    approver.department = make_department("health", "310115")
    db.session.commit()  # no approver left, but the decision still names the department
    client = admin_client(app)
    response = form_post(
        client, f"/admin/departments/{department_id}", {"department": "postal", "scope": "310115"}
    )
    assert response.status_code == 409
    department = db.session.get(Department, department_id)
    assert department is not None and department.code == "commerce"
    db.session.commit()


def test_an_unused_department_can_be_deleted(app: Flask) -> None:
    department_id = make_department("postal", "310104").id
    client = admin_client(app)
    response = form_post(client, f"/admin/departments/{department_id}/delete", {})
    assert response.status_code == 302
    assert db.session.get(Department, department_id) is None
    db.session.commit()
    assert actions("department.delete") == ["department.delete"]


# --- checkpoints -------------------------------------------------------------------------

GOOD_CHECKPOINT = {
    "code": "G15-JIADING",
    "name": "G15嘉定卡口",
    "district": "310114",
    "latitude": "31.3745",
    "longitude": "121.2654",
    "is_active": "y",
}


def test_an_admin_creates_a_checkpoint_with_coordinates(app: Flask) -> None:
    client = admin_client(app)
    assert client.get("/admin/checkpoints/new").status_code == 200
    response = form_post(client, "/admin/checkpoints/new", GOOD_CHECKPOINT)
    assert response.status_code == 302
    checkpoint = db.session.scalar(select(Checkpoint))
    assert checkpoint is not None
    assert (checkpoint.code, checkpoint.district, checkpoint.is_active) == (
        "G15-JIADING",
        "310114",
        True,
    )
    assert checkpoint.latitude == pytest.approx(31.3745)
    assert checkpoint.longitude == pytest.approx(121.2654)
    db.session.commit()
    assert actions("checkpoint.create") == ["checkpoint.create"]
    assert "G15-JIADING" in client.get("/admin/checkpoints").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "no spaces allowed"}, "code"),
        ({"name": "  "}, "name"),
        ({"district": "320583"}, "district"),
        ({"latitude": "91"}, "latitude"),
        ({"longitude": "-181"}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"latitude": "nan"}, "latitude"),
        ({"longitude": ""}, "longitude"),
        ({"latitude": ""}, "latitude"),
    ],
)
def test_a_bad_checkpoint_is_answered_at_its_field_and_nothing_is_written(
    app: Flask, changes: dict[str, str], field: str
) -> None:
    client = admin_client(app)
    response = form_post(client, "/admin/checkpoints/new", {**GOOD_CHECKPOINT, **changes})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count(Checkpoint) == 0


def test_a_checkpoint_without_coordinates_is_accepted(app: Flask) -> None:
    client = admin_client(app)
    data = {**GOOD_CHECKPOINT, "latitude": "", "longitude": ""}
    assert form_post(client, "/admin/checkpoints/new", data).status_code == 302
    checkpoint = db.session.scalar(select(Checkpoint))
    assert checkpoint is not None and checkpoint.latitude is None and checkpoint.longitude is None
    db.session.commit()


def test_a_checkpoint_code_in_use_is_refused_at_the_field(app: Flask) -> None:
    make_checkpoint("G15-JIADING")
    other = make_checkpoint("S20-PUDONG")
    client = admin_client(app)
    created = form_post(client, "/admin/checkpoints/new", GOOD_CHECKPOINT)
    assert created.status_code == 409 and 'id="code-error"' in created.get_data(as_text=True)
    renamed = form_post(client, f"/admin/checkpoints/{other.id}", GOOD_CHECKPOINT)
    assert renamed.status_code == 409 and 'id="code-error"' in renamed.get_data(as_text=True)
    assert count(Checkpoint) == 2
    db.session.refresh(other)
    assert other.code == "S20-PUDONG"
    db.session.commit()


def test_an_admin_edits_a_checkpoint_and_can_switch_it_off(app: Flask) -> None:
    checkpoint = make_checkpoint("CP-OLD")
    client = admin_client(app)
    page = client.get(f"/admin/checkpoints/{checkpoint.id}").get_data(as_text=True)
    assert 'value="CP-OLD"' in page and 'value="31.3"' in page
    data = {**GOOD_CHECKPOINT}
    del data["is_active"]  # an unticked box is not sent
    response = form_post(client, f"/admin/checkpoints/{checkpoint.id}", data)
    assert response.status_code == 302
    db.session.refresh(checkpoint)
    assert checkpoint.code == "G15-JIADING" and checkpoint.is_active is False
    assert checkpoint.latitude == pytest.approx(31.3745)
    db.session.commit()
    assert actions("checkpoint.change") == ["checkpoint.change"]


def test_a_bad_edit_leaves_the_checkpoint_as_it_was(app: Flask) -> None:
    checkpoint = make_checkpoint("CP-OLD")
    client = admin_client(app)
    data = {**GOOD_CHECKPOINT, "longitude": "500"}
    response = form_post(client, f"/admin/checkpoints/{checkpoint.id}", data)
    assert response.status_code == 422
    db.session.refresh(checkpoint)
    assert checkpoint.code == "CP-OLD" and checkpoint.longitude == pytest.approx(121.2)
    db.session.commit()
    assert actions("checkpoint.change") == []


def test_the_checkpoint_list_is_paginated(app: Flask) -> None:
    from permits.views.admin.organisation import CHECKPOINTS_PER_PAGE

    for n in range(CHECKPOINTS_PER_PAGE + 1):
        make_checkpoint(f"CP-{n:03d}")
    client = admin_client(app)
    first = client.get("/admin/checkpoints").get_data(as_text=True)
    second = client.get("/admin/checkpoints?page=2").get_data(as_text=True)
    assert "CP-000" in first and f"CP-{CHECKPOINTS_PER_PAGE:03d}" not in first
    assert "page=2" in first
    assert f"CP-{CHECKPOINTS_PER_PAGE:03d}" in second and "CP-000" not in second
