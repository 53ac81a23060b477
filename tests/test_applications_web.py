"""Both kinds end to end through the HTML forms, as an enterprise and two approvers would."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import Application, Role
from permits.workflow import State
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    PDF,
    make_approver,
    make_enterprise,
    make_id_number,
    make_user,
    vehicle_fields,
    work_fields,
)


def browser(app: Flask, user: Any) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def vehicle_form(**overrides: str) -> dict[str, str]:
    fields = vehicle_fields()
    driver = fields.pop("drivers")[0]
    form = {k: str(v) for k, v in fields.items()}
    form.update(
        {
            "drivers-0-name": driver["name"],
            "drivers-0-id_number": driver["id_number"],
            "drivers-0-phone": driver["phone"],
        }
    )
    form.update(overrides)
    return form


def post(client: FlaskClient, path: str, data: dict[str, Any], page: str) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def latest_application() -> Application:
    db.session.expire_all()
    return db.session.query(Application).order_by(Application.id.desc()).first()


def test_vehicle_pass_through_the_forms_with_a_return(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    district = make_approver("commerce", "310115")
    city = make_approver("transport", "city")
    enterprise = browser(app, applicant)

    response = post(
        enterprise,
        "/applications/new/vehicle_pass",
        {**vehicle_form(plate="沪A12345"), "save": "1"},
        "/applications/new/vehicle_pass",
    )
    assert response.status_code == 302
    application = latest_application()
    assert application.status is State.DRAFT and application.plate == "沪A12345"
    assert [d.name for d in application.drivers] == ["王师傅"]
    app_id = application.id

    edit_page = f"/applications/{app_id}/edit"
    response = post(enterprise, edit_page, {**vehicle_form(), "submit": "1"}, edit_page)
    assert response.status_code == 302
    assert latest_application().status is State.IN_REVIEW

    officer = browser(app, district)
    page = officer.get(f"/applications/{app_id}").get_data(as_text=True)
    assert 'id="decide"' in page
    post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "return", "comment": "请补充第二名司机", "reason_code": "other"},
        f"/applications/{app_id}",
    )
    assert latest_application().status is State.RETURNED

    page = enterprise.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "请补充第二名司机" in page
    second = {
        "drivers-1-name": "李师傅",
        "drivers-1-id_number": make_id_number(serial="456"),
        "drivers-1-phone": "13900002222",
    }
    response = post(enterprise, edit_page, {**vehicle_form(**second), "submit": "1"}, edit_page)
    assert response.status_code == 302
    application = latest_application()
    assert application.status is State.IN_REVIEW and len(application.drivers) == 2

    post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "approve", "comment": "", "reason_code": "other"},
        f"/applications/{app_id}",
    )
    transport = browser(app, city)
    assert f"#{app_id}" in transport.get("/review/").get_data(as_text=True)
    post(
        transport,
        f"/review/{app_id}/decision",
        {"decision": "approve", "comment": "", "reason_code": "other"},
        f"/applications/{app_id}",
    )
    assert latest_application().status is State.APPROVED

    timeline = enterprise.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "请补充第二名司机" in timeline
    assert timeline.count('class="timeline-item') == 5


def test_bad_fields_are_shown_next_to_each_field(app: Flask) -> None:
    enterprise = browser(app, make_user(Role.ENTERPRISE))
    good_id = make_id_number()
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    response = post(
        enterprise,
        "/applications/new/vehicle_pass",
        {
            **vehicle_form(plate="沪O1234", origin="123456", **{"drivers-0-id_number": bad_id}),
            "save": "1",
        },
        "/applications/new/vehicle_pass",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field_id in ("plate", "origin", "drivers-0-id_number"):
        assert re.search(rf'<p class="error" id="{field_id}-error">', page), field_id
    assert latest_application() is None


def test_work_resumption_through_the_forms(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104"))
    enterprise = browser(app, applicant)
    fields = {k: str(v) for k, v in work_fields(district="310104").items()}
    fields["closed_loop"] = "y"
    response = post(
        enterprise,
        "/applications/new/work_resumption",
        {**fields, "submit": "1"},
        "/applications/new/work_resumption",
    )
    # Without the plan it stays a draft and says what is missing, beside the file field.
    assert response.status_code == 200 and 'id="file-error"' in response.get_data(as_text=True)
    application = latest_application()
    assert application.status is State.DRAFT and application.closed_loop is True
    app_id = application.id

    edit_page = f"/applications/{app_id}/edit"
    refused = enterprise.post(
        f"/applications/{app_id}/attachments",
        data={
            "csrf_token": csrf_token(enterprise, edit_page),
            "purpose": "prevention_plan",
            "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "plan.pdf"),
        },
    )
    assert refused.status_code == 422
    assert latest_application().attachments == []
    accepted = enterprise.post(
        f"/applications/{app_id}/attachments",
        data={
            "csrf_token": csrf_token(enterprise, edit_page),
            "purpose": "prevention_plan",
            "file": (io.BytesIO(PDF), "疫情防控方案.pdf"),
        },
    )
    assert accepted.status_code == 302
    assert [a.filename for a in latest_application().attachments] == ["疫情防控方案.pdf"]

    response = post(enterprise, f"/applications/{app_id}/submit", {}, f"/applications/{app_id}")
    assert response.status_code == 302
    application = latest_application()
    assert application.status is State.IN_REVIEW
    assert (application.current_department_code, application.current_scope) == ("economy", "310104")


def test_an_upload_over_the_limit_gets_a_clear_413(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    applicant = make_user(Role.ENTERPRISE)
    enterprise = browser(app, applicant)
    post(
        enterprise,
        "/applications/new/work_resumption",
        {**{k: str(v) for k, v in work_fields().items()}, "save": "1"},
        "/applications/new/work_resumption",
    )
    app_id = latest_application().id
    response = enterprise.post(
        f"/applications/{app_id}/attachments",
        data={
            "csrf_token": csrf_token(enterprise, f"/applications/{app_id}/edit"),
            "purpose": "prevention_plan",
            "file": (io.BytesIO(PDF + b"0" * 60_000), "big.pdf"),
        },
    )
    assert response.status_code == 413
    assert latest_application().attachments == []
