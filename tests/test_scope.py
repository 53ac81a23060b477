"""Scope: a Xuhui approver never sees Pudong's applications, and one enterprise never reads
another's application, attachment or timeline, by page, API or guessed id."""

from __future__ import annotations

from flask import Flask

from permits.models import Role
from tests.api_helpers import Api
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_enterprise,
    make_user,
)


def test_a_xuhui_approver_never_sees_pudongs_applications(app: Flask) -> None:
    pudong_app = make_application(
        make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310115")),
        submit=True,
        origin="310115",
        cargo_category="daily_necessities",
    )
    xuhui_app = make_application(
        make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104")),
        submit=True,
        origin="310104",
        cargo_category="daily_necessities",
    )
    pudong_id, xuhui_id = pudong_app.id, xuhui_app.id
    xuhui = make_approver("commerce", "310104")

    browser = app.test_client()
    login(browser, xuhui.email, PASSWORD)
    queue = browser.get("/review/").get_data(as_text=True)
    assert f"#{xuhui_id}" in queue and f"#{pudong_id}" not in queue
    assert browser.get(f"/applications/{pudong_id}").status_code == 404
    assert browser.get(f"/applications/{xuhui_id}").status_code == 200

    api = Api(app.test_client(), xuhui)
    assert api.get(f"/applications/{pudong_id}").status_code == 404
    ids = [a["id"] for a in api.get("/applications?step=mine").get_json()["items"]]
    assert ids == [xuhui_id]
    listed = [a["id"] for a in api.get("/applications").get_json()["items"]]
    assert pudong_id not in listed
    refused = api.post(f"/applications/{pudong_id}/decisions", {"decision": "approve"})
    assert refused.status_code == 404


def test_the_right_department_of_the_wrong_kind_sees_nothing(app: Flask) -> None:
    """Pudong's health commission does not see Pudong's daily-necessities truck."""
    truck = make_application(make_user(Role.ENTERPRISE), submit=True)
    health = Api(app.test_client(), make_approver("health", "310115"))
    assert health.get(f"/applications/{truck.id}").status_code == 404
    assert health.get("/applications?step=mine").get_json()["items"] == []


def test_one_enterprise_never_reads_anothers_application(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    application = make_application(owner, kind="work_resumption", submit=True)
    app_id = application.id
    attachment_id = application.attachments[0].id
    other = make_user(Role.ENTERPRISE)

    browser = app.test_client()
    login(browser, other.email, PASSWORD)
    for path in (
        f"/applications/{app_id}",
        f"/applications/{app_id}/edit",
        f"/applications/{app_id}/attachments/{attachment_id}",
    ):
        response = browser.get(path)
        response.close()
        assert response.status_code == 404, path
    assert f"#{app_id}" not in browser.get("/applications/").get_data(as_text=True)

    api = Api(app.test_client(), other)
    assert api.get(f"/applications/{app_id}").status_code == 404
    assert api.get(f"/applications/{app_id}/attachments/{attachment_id}").status_code == 404
    assert api.patch(f"/applications/{app_id}", {"staff_on_site": 1}).status_code == 404
    assert api.post(f"/applications/{app_id}/withdraw").status_code == 404
    assert api.get("/applications").get_json()["items"] == []

    owner_api = Api(app.test_client(), owner)
    assert owner_api.get(f"/applications/{app_id}").status_code == 200
    download = owner_api.get(f"/applications/{app_id}/attachments/{attachment_id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data.startswith(b"%PDF")
    download.close()


def test_drafts_are_private_to_the_enterprise(app: Flask) -> None:
    draft = make_application(make_user(Role.ENTERPRISE))
    approver = Api(app.test_client(), make_approver("commerce", "310115"))
    assert approver.get(f"/applications/{draft.id}").status_code == 404


def test_checkpoint_staff_do_not_read_applications(app: Flask) -> None:
    application = make_application(make_user(Role.ENTERPRISE), submit=True)
    staff = Api(app.test_client(), make_user(Role.CHECKPOINT))
    assert staff.get(f"/applications/{application.id}").status_code == 404
    assert staff.get("/applications").status_code == 403


def test_admins_and_supervisors_read_every_application(app: Flask) -> None:
    application = make_application(make_user(Role.ENTERPRISE), submit=True)
    for role in (Role.ADMIN, Role.SUPERVISOR):
        api = Api(app.test_client(), make_user(role))
        assert api.get(f"/applications/{application.id}").status_code == 200
        assert (
            api.post(
                f"/applications/{application.id}/decisions", {"decision": "approve"}
            ).status_code
            == 403
        )
