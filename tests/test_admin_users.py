"""Administration of users: only admins change anything, supervisors read; first passwords are
shown once; deactivation, reset and unlock take effect at once."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits import create_app
from permits.extensions import db
from permits.models import AuditEvent, Role, User
from tests.api_helpers import Api
from tests.conftest import IsolatedClient, form_post, login, test_config
from tests.factories import (
    PASSWORD,
    make_application,
    make_enterprise,
    make_user,
)

READ_PAGES = ["/admin/users", "/admin/users/new", "/admin/users/{id}"]
ACTIONS = [
    "/admin/users/new",
    "/admin/users/{id}/deactivate",
    "/admin/users/{id}/reactivate",
    "/admin/users/{id}/reset-password",
    "/admin/users/{id}/unlock",
]
_FIRST_PASSWORD = re.compile(r'<code class="mono" id="first-password">([^<]+)</code>')


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def shown_password(html: str) -> str:
    found = _FIRST_PASSWORD.search(html)
    assert found, "no first password on the page"
    return found.group(1)


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_users_pages_and_actions_are_refused_to_other_roles(app: Flask, role: Role) -> None:
    target = make_user(Role.APPROVER)
    client = logged_in(app, make_user(role))
    for path in READ_PAGES:
        assert client.get(path.format(id=target.id)).status_code == 403
    for path in ACTIONS:
        assert form_post(client, path.format(id=target.id), {}).status_code == 403


def test_users_pages_are_refused_to_anonymous_visitors(app: Flask) -> None:
    target = make_user(Role.APPROVER)
    client = app.test_client()
    for path in READ_PAGES:
        response = client.get(path.format(id=target.id))
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for path in ACTIONS:
        assert client.post(path.format(id=target.id)).status_code in (400, 401)
    db.session.refresh(target)
    assert target.is_active


def test_supervisors_read_the_users_but_every_change_is_refused(app: Flask) -> None:
    target = make_user(Role.APPROVER)
    client = logged_in(app, make_user(Role.SUPERVISOR))
    listing = client.get("/admin/users")
    assert listing.status_code == 200 and target.email in listing.get_data(as_text=True)
    assert client.get(f"/admin/users/{target.id}").status_code == 200
    for path in ACTIONS:
        data = {"email": "new@example.com", "role": "admin"}
        assert form_post(client, path.format(id=target.id), data).status_code == 403
    db.session.refresh(target)
    assert target.is_active
    assert db.session.scalar(select(User).where(User.email == "new@example.com")) is None


def test_a_new_minhang_approver_logs_in_with_the_shown_password_changes_it_and_sees_minhang(
    app: Flask,
) -> None:
    minhang = make_application(
        make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310112")),
        submit=True,
        origin="310112",
        cargo_category="daily_necessities",
    )
    pudong = make_application(submit=True, origin="310115", cargo_category="daily_necessities")
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {
            "email": "Zhang.Wei@Minhang.example.cn",
            "name": "张伟",
            "role": "approver",
            "department": "commerce",
            "scope": "310112",
        },
        page="/admin/users/new",
    )
    assert response.status_code == 201
    password = shown_password(response.get_data(as_text=True))
    assert password not in str(response.headers)

    created = db.session.scalar(select(User).where(User.email == "zhang.wei@minhang.example.cn"))
    assert created is not None and created.must_change_password
    assert created.department is not None
    assert (created.department.code, created.department.scope) == ("commerce", "310112")
    details = [str(e.details) for e in db.session.scalars(select(AuditEvent))]
    assert any("approver" in d for d in details) and not any(password in d for d in details)

    officer = app.test_client()
    assert login(officer, created.email, password).status_code == 302
    assert officer.get("/review/").headers["Location"] == "/account/"
    changed = form_post(
        officer,
        "/account/password",
        {
            "current_password": password,
            "new_password": "Huangpu-river-2022",
            "new_password_again": "Huangpu-river-2022",
        },
        page="/account/",
    )
    assert changed.status_code == 302
    queue = officer.get("/review/")
    assert queue.status_code == 200
    assert f"#{minhang.id}" in queue.get_data(as_text=True)
    assert f"#{pudong.id}" not in queue.get_data(as_text=True)


def test_an_admin_makes_a_demand_handler_who_sees_the_departments_tickets_not_its_queue(
    app: Flask,
) -> None:
    """A handler handles the demand tickets of a department and never decides applications."""
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {
            "email": "li.na@pudong.example.cn",
            "role": "handler",
            "department": "economy",
            "scope": "310115",
        },
        page="/admin/users/new",
    )
    assert response.status_code == 201
    password = shown_password(response.get_data(as_text=True))
    created = db.session.scalar(select(User).where(User.email == "li.na@pudong.example.cn"))
    assert created is not None and created.role is Role.HANDLER
    assert created.department is not None
    assert (created.department.code, created.department.scope) == ("economy", "310115")
    handler = app.test_client()
    login(handler, created.email, password)
    form_post(
        handler,
        "/account/password",
        {
            "current_password": password,
            "new_password": "Huangpu-river-2022",
            "new_password_again": "Huangpu-river-2022",
        },
        page="/account/",
    )
    assert handler.get("/demands/queue").status_code == 200
    assert handler.get("/review/").status_code == 403


def test_a_bad_scope_is_told_at_its_field_and_creates_nothing(app: Flask) -> None:
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {"email": "li@example.com", "role": "approver", "department": "commerce", "scope": "999"},
        page="/admin/users/new",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="scope-error"' in html
    assert db.session.scalar(select(User).where(User.email == "li@example.com")) is None


def test_a_checkpoint_account_needs_an_existing_checkpoint(app: Flask) -> None:
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {"email": "gate@example.com", "role": "checkpoint", "checkpoint": "NO-SUCH-GATE"},
        page="/admin/users/new",
    )
    assert response.status_code == 422
    assert 'id="checkpoint-error"' in response.get_data(as_text=True)


def test_an_admin_adds_a_colleague_to_an_enterprise_by_its_uscc(app: Flask) -> None:
    enterprise = make_enterprise()
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {
            "email": "colleague@example.com",
            "role": "enterprise",
            "enterprise_uscc": enterprise.uscc,
        },
        page="/admin/users/new",
    )
    assert response.status_code == 201
    colleague = db.session.scalar(select(User).where(User.email == "colleague@example.com"))
    assert colleague is not None and colleague.enterprise_id == enterprise.id
    unknown = form_post(
        admin,
        "/admin/users/new",
        {"email": "x@example.com", "role": "enterprise", "enterprise_uscc": "91310000000000000X"},
        page="/admin/users/new",
    )
    assert unknown.status_code == 422
    assert 'id="enterprise_uscc-error"' in unknown.get_data(as_text=True)


def test_an_existing_email_is_refused_without_a_500(app: Flask) -> None:
    taken = make_user(Role.SUPERVISOR)
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(
        admin,
        "/admin/users/new",
        {"email": taken.email, "role": "supervisor"},
        page="/admin/users/new",
    )
    assert response.status_code == 409
    assert 'id="email-error"' in response.get_data(as_text=True)


def test_deactivation_ends_an_open_session_and_an_api_token_at_once(app: Flask) -> None:
    officer = make_user(Role.APPROVER)
    session = logged_in(app, officer)
    api = Api(app.test_client(), officer)
    assert session.get("/").status_code == 200
    assert api.get("/me").status_code == 200

    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(admin, f"/admin/users/{officer.id}/deactivate", {})
    assert response.status_code == 302

    ended = session.get("/review/")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert api.get("/me").status_code == 401
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 401

    assert form_post(admin, f"/admin/users/{officer.id}/reactivate", {}).status_code == 302
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 302
    assert api.get("/me").status_code == 401  # its old tokens stay revoked


def test_an_admin_cannot_deactivate_themselves(app: Flask) -> None:
    me = make_user(Role.ADMIN)
    admin = logged_in(app, me)
    response = form_post(admin, f"/admin/users/{me.id}/deactivate", {})
    assert response.status_code == 302
    page = admin.get(f"/admin/users/{me.id}")
    assert page.status_code == 200
    assert "不能停用自己的账号" in page.get_data(as_text=True)
    db.session.refresh(me)
    assert me.is_active


def test_a_reset_password_works_once_shown_and_the_old_one_stops(app: Flask) -> None:
    officer = make_user(Role.CHECKPOINT)
    old_session = logged_in(app, officer)
    admin = logged_in(app, make_user(Role.ADMIN))
    response = form_post(admin, f"/admin/users/{officer.id}/reset-password", {})
    assert response.status_code == 200
    password = shown_password(response.get_data(as_text=True))

    ended = old_session.get("/account/")  # the open session has ended
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 401
    fresh = app.test_client()
    assert login(fresh, officer.email, password).status_code == 302
    assert fresh.get("/").headers["Location"] == "/account/"


def test_unlock_lets_a_throttled_account_log_in_again(app: Flask) -> None:
    officer = make_user(Role.APPROVER)
    attacker = app.test_client()
    statuses = [login(attacker, officer.email, "wrong-password").status_code for _ in range(6)]
    assert statuses[-1] == 429
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 429

    admin = logged_in(app, make_user(Role.ADMIN))
    assert form_post(admin, f"/admin/users/{officer.id}/unlock", {}).status_code == 302
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 302


def test_the_list_searches_email_and_name_and_filters_by_role(app: Flask) -> None:
    make_user(Role.APPROVER, email="wang@example.com", name="王芳")
    make_user(Role.CHECKPOINT, email="zhao@example.com", name="赵磊")
    client = logged_in(app, make_user(Role.SUPERVISOR))
    by_name = client.get("/admin/users?q=王芳").get_data(as_text=True)
    assert "wang@example.com" in by_name and "zhao@example.com" not in by_name
    by_role = client.get("/admin/users?role=checkpoint").get_data(as_text=True)
    assert "zhao@example.com" in by_role and "wang@example.com" not in by_role
    assert client.get("/admin/users?q=100%25_").status_code == 200
    assert client.get("/admin/users?page=abc&role=nonsense").status_code == 200


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_servers(migrated: str) -> Iterator[list[Flask]]:
    """Two app servers sharing one Redis for their rate limits (skipped without Redis)."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"test-{secrets.token_hex(4)}"
    made = []
    for _ in range(2):
        server = create_app(
            test_config(migrated, RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
        )
        server.test_client_class = IsolatedClient
        made.append(server)
    yield made
    for server in made:
        with server.app_context():
            db.engine.dispose()


def test_unlock_on_one_server_frees_the_account_on_another_with_redis(
    app: Flask, redis_servers: list[Flask]
) -> None:
    officer = make_user(Role.APPROVER)
    admin = make_user(Role.ADMIN)
    first, second = redis_servers
    for _ in range(5):
        login(first.test_client(), officer.email, "wrong-password")
    assert login(first.test_client(), officer.email, PASSWORD).status_code == 429

    client = second.test_client()
    assert login(client, admin.email, PASSWORD).status_code == 302
    assert form_post(client, f"/admin/users/{officer.id}/unlock", {}).status_code == 302
    assert login(first.test_client(), officer.email, PASSWORD).status_code == 302
