"""Signing keys in the administration: what each key signed that is still valid, and rotation."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.models import AuditEvent, Role, User
from permits.services import issuance
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import PASSWORD, make_pass, make_user


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def key_row(page: str, kid: str) -> str:
    found = re.search(rf'<td class="mono">{kid}</td>(.*?)</tr>', page, re.S)
    assert found, f"key {kid} is not listed"
    return found.group(1)


def valid_count(page: str, kid: str) -> int:
    found = re.search(r'<td class="count-cell">(\d+)</td>', key_row(page, kid))
    assert found
    return int(found.group(1))


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_keys_are_refused_to_other_roles(app: Flask, role: Role) -> None:
    client = logged_in(app, make_user(role))
    assert client.get("/admin/keys").status_code == 403
    assert form_post(client, "/admin/keys/rotate", {}).status_code == 403
    anonymous = app.test_client().get("/admin/keys")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_supervisors_see_the_keys_but_cannot_rotate(app: Flask) -> None:
    issued = make_pass()
    before = [k.kid_hex for k in issuance.key_store().all()]
    client = logged_in(app, make_user(Role.SUPERVISOR))
    page = client.get("/admin/keys")
    assert page.status_code == 200 and issued.kid in page.get_data(as_text=True)
    assert form_post(client, "/admin/keys/rotate", {}, page="/admin/keys").status_code == 403
    assert [k.kid_hex for k in issuance.key_store().all()] == before


def test_the_list_counts_the_valid_passes_each_key_signed(app: Flask) -> None:
    admin_user = make_user(Role.ADMIN)
    kept = make_pass(plate="沪A10001")
    revoked = make_pass(plate="沪A10002")
    make_pass(plate="沪A10003")
    assert kept.kid == revoked.kid
    api = Api(app.test_client(), admin_user)
    assert api.post(f"/passes/{revoked.number}/revoke", {"reason": "作废"}).status_code == 200

    client = logged_in(app, admin_user)
    page = client.get("/admin/keys").get_data(as_text=True)
    assert valid_count(page, kept.kid) == 2


def test_rotation_makes_a_new_current_key_and_keeps_the_old_one_published(app: Flask) -> None:
    old = make_pass()
    client = logged_in(app, make_user(Role.ADMIN))
    response = form_post(client, "/admin/keys/rotate", {}, page="/admin/keys")
    assert response.status_code == 302

    new = make_pass(plate="沪B23456")
    assert new.kid != old.kid
    page = client.get("/admin/keys", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<strong>Current</strong>" in key_row(page, new.kid)
    assert "<strong>Current</strong>" not in key_row(page, old.kid)
    assert valid_count(page, old.kid) == 1 and valid_count(page, new.kid) == 1
    published = app.test_client().get("/api/v1/keys").get_json()["keys"]
    assert len(published) >= 2
    rotations = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "keys.rotate")
    ).all()
    assert [e.details["kid"] for e in rotations] == [new.kid]
