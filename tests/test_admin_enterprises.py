"""Enterprises in the administration: search, one enterprise's file, and suspension — which
turns its passes `revoked` online (QR, code, plate) and offline (the revocation feed) until it is
lifted."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.models import AuditEvent, Enterprise, Notification, Pass, Role, User
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import PASSWORD, make_enterprise, make_pass, make_user

REASON = "未落实防疫措施"


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def verdicts(officer: Api, issued: Pass) -> dict[str, Any]:
    """The verdict for the pass by each way a checkpoint may present it."""
    answers = {
        "qr": officer.post("/verify", {"qr": issued.token}),
        "code": officer.post("/verify", {"code": issued.control_code}),
        "plate": officer.post("/verify", {"plate": issued.plate}),
    }
    assert all(a.status_code == 200 for a in answers.values())
    return {how: a.get_json() for how, a in answers.items()}


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_enterprise_pages_and_actions_are_refused_to_other_roles(app: Flask, role: Role) -> None:
    enterprise = make_enterprise()
    client = logged_in(app, make_user(role))
    assert client.get("/admin/enterprises").status_code == 403
    assert client.get(f"/admin/enterprises/{enterprise.id}").status_code == 403
    for action in ("suspend", "lift"):
        path = f"/admin/enterprises/{enterprise.id}/{action}"
        assert form_post(client, path, {"reason": REASON}).status_code == 403
    anonymous = app.test_client()
    response = anonymous.get(f"/admin/enterprises/{enterprise.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.refresh(enterprise)
    assert not enterprise.is_suspended


def test_supervisors_read_enterprises_but_cannot_suspend(app: Flask) -> None:
    enterprise = make_enterprise(name="申城冷链物流有限公司")
    client = logged_in(app, make_user(Role.SUPERVISOR))
    assert "申城冷链物流有限公司" in client.get("/admin/enterprises").get_data(as_text=True)
    assert client.get(f"/admin/enterprises/{enterprise.id}").status_code == 200
    path = f"/admin/enterprises/{enterprise.id}/suspend"
    assert form_post(client, path, {"reason": REASON}).status_code == 403
    db.session.refresh(enterprise)
    assert not enterprise.is_suspended


def test_the_list_finds_an_enterprise_by_name_uscc_or_district(app: Flask) -> None:
    cold = make_enterprise(name="申城冷链物流有限公司", district="310112")
    make_enterprise(name="浦江食品有限公司", district="310115")
    client = logged_in(app, make_user(Role.ADMIN))
    for query in ("冷链", cold.uscc.lower(), "310112"):
        page = client.get("/admin/enterprises", query_string={"q": query}).get_data(as_text=True)
        assert "申城冷链物流有限公司" in page and "浦江食品有限公司" not in page, query


def test_an_enterprise_page_links_its_users_applications_and_passes(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    client = logged_in(app, make_user(Role.SUPERVISOR))
    page = client.get(f"/admin/enterprises/{owner.enterprise_id}").get_data(as_text=True)
    assert owner.email in page
    assert f"/applications/{issued.application_id}" in page
    assert f"/passes/{issued.number}" in page


def test_a_suspension_needs_a_reason(app: Flask) -> None:
    enterprise = make_enterprise()
    client = logged_in(app, make_user(Role.ADMIN))
    response = form_post(client, f"/admin/enterprises/{enterprise.id}/suspend", {"reason": " "})
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    db.session.refresh(enterprise)
    assert not enterprise.is_suspended


def test_a_suspended_enterprises_pass_verifies_revoked_with_the_reason_until_lifted(
    app: Flask,
) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner, plate="沪B77881")
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT))
    assert {v["result"] for v in verdicts(officer, issued).values()} == {"valid"}

    admin = logged_in(app, make_user(Role.ADMIN))
    path = f"/admin/enterprises/{owner.enterprise_id}/suspend"
    assert form_post(admin, path, {"reason": REASON}).status_code == 302

    for how, verdict in verdicts(officer, issued).items():
        assert verdict["result"] == "revoked", how
        assert REASON in verdict["reason"], how
        assert verdict["pass"]["revoke_reason"] == REASON, how
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "enterprise.suspend" in events
    told = db.session.scalars(select(Notification).where(Notification.user_id == owner.id)).all()
    assert any(n.event == "enterprise_suspended" for n in told)

    home = logged_in(app, owner)
    assert REASON in home.get("/").get_data(as_text=True)
    assert REASON in home.get(f"/passes/{issued.number}").get_data(as_text=True)

    lift = f"/admin/enterprises/{owner.enterprise_id}/lift"
    assert form_post(admin, lift, {}).status_code == 302
    assert {v["result"] for v in verdicts(officer, issued).values()} == {"valid"}
    assert REASON not in home.get("/").get_data(as_text=True)
    enterprise = db.session.get(Enterprise, owner.enterprise_id)
    assert enterprise is not None and not enterprise.is_suspended


def test_the_feed_lists_a_suspended_pass_as_revoked_then_as_reinstated(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    anyone = app.test_client()
    start = anyone.get("/api/v1/revocations?since=0").get_json()
    assert start == {"counter": 0, "revoked": [], "reinstated": []}

    admin = logged_in(app, make_user(Role.ADMIN))
    form_post(admin, f"/admin/enterprises/{owner.enterprise_id}/suspend", {"reason": REASON})
    suspended = anyone.get("/api/v1/revocations?since=0").get_json()
    assert suspended["revoked"] == [issued.number] and suspended["reinstated"] == []
    held = suspended["counter"]
    assert held > 0

    form_post(admin, f"/admin/enterprises/{owner.enterprise_id}/lift", {})
    lifted = anyone.get(f"/api/v1/revocations?since={held}").get_json()
    assert lifted["revoked"] == [] and lifted["reinstated"] == [issued.number]
    assert lifted["counter"] > held
    fresh = anyone.get("/api/v1/revocations?since=0").get_json()
    assert fresh["revoked"] == [] and fresh["reinstated"] == [issued.number]


def test_a_pass_revoked_for_itself_stays_revoked_after_the_lift(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    admin_user = make_user(Role.ADMIN)
    revoker = Api(app.test_client(), admin_user)
    assert revoker.post(f"/passes/{issued.number}/revoke", {"reason": "伪造"}).status_code == 200
    admin = logged_in(app, admin_user)
    form_post(admin, f"/admin/enterprises/{owner.enterprise_id}/suspend", {"reason": REASON})
    form_post(admin, f"/admin/enterprises/{owner.enterprise_id}/lift", {})
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT))
    verdict = officer.post("/verify", {"qr": issued.token}).get_json()
    assert verdict["result"] == "revoked" and verdict["pass"]["revoke_reason"] == "伪造"
    feed = app.test_client().get("/api/v1/revocations?since=0").get_json()
    assert feed["revoked"] == [issued.number] and feed["reinstated"] == []
