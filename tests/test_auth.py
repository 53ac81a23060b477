"""Logging in and out: safe redirects, fresh sessions, sessions that really end, throttling."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import Role, User, utcnow
from permits.services import accounts
from tests.conftest import csrf_token, form_post, login
from tests.factories import PASSWORD, make_user


def test_login_with_the_right_password_opens_the_home_page(client: FlaskClient) -> None:
    user = make_user(Role.ENTERPRISE, name="陈建国")
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "陈建国" in client.get("/").get_data(as_text=True)


def test_login_is_case_insensitive_on_the_email(client: FlaskClient) -> None:
    user = make_user(email="Mixed.Case@Example.com")
    assert user.email == "mixed.case@example.com"
    assert login(client, "MIXED.case@example.COM", PASSWORD).status_code == 302


def test_wrong_password_is_refused_with_a_message(client: FlaskClient) -> None:
    user = make_user()
    response = login(client, user.email, "not-the-password")
    assert response.status_code == 401
    assert "邮箱地址或密码错误" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client: FlaskClient) -> None:
    make_user(email="known@example.com")
    unknown = login(client, "nobody@example.com", PASSWORD)
    wrong = login(client, "known@example.com", "wrong-password-1")
    assert unknown.status_code == wrong.status_code == 401


def test_deactivated_user_cannot_log_in(client: FlaskClient) -> None:
    user = make_user()
    accounts.deactivate_user(user, now=utcnow())
    db.session.commit()
    assert login(client, user.email, PASSWORD).status_code == 401


def test_next_parameter_returns_to_a_page_of_this_site(client: FlaskClient) -> None:
    user = make_user()
    assert client.get("/account/").headers["Location"].startswith("/login?next=/account/")
    response = login(client, user.email, PASSWORD, next="/account/")
    assert response.headers["Location"] == "/account/"


def test_next_parameter_never_leads_to_another_site(client: FlaskClient) -> None:
    user = make_user()
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        client.get("/")  # fresh page for a token
        response = login(client, user.email, PASSWORD, next=target)
        assert response.headers["Location"] == "/", target
        form_post(client, "/logout", {})


def test_login_form_needs_its_csrf_token(client: FlaskClient) -> None:
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/").status_code == 302


def test_login_starts_a_new_session(client: FlaskClient) -> None:
    """Nothing of the anonymous session (e.g. a planted value) survives the login."""
    user = make_user()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, user.email, PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{user.id}:")


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app: Flask) -> None:
    user = make_user()
    browser = app.test_client()
    login(browser, user.email, PASSWORD)
    stolen = browser.get_cookie("session", domain="localhost")
    assert stolen is not None

    form_post(browser, "/logout", {})
    assert browser.get("/account/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen.value, domain="localhost")
    response = thief.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_ends_the_sessions_on_other_devices_too(app: Flask) -> None:
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user.email, PASSWORD)
    login(laptop, user.email, PASSWORD)
    form_post(phone, "/logout", {})
    assert laptop.get("/account/").status_code == 302


def test_logout_needs_a_post_with_csrf(client: FlaskClient) -> None:
    user = make_user()
    login(client, user.email, PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/account/").status_code == 200


def test_password_change_ends_other_sessions_but_keeps_this_one(app: Flask) -> None:
    user = make_user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email, PASSWORD)
    login(elsewhere, user.email, PASSWORD)
    response = form_post(
        here,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "glacier-harbour-9921",
            "new_password_again": "glacier-harbour-9921",
        },
    )
    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    form_post(here, "/logout", {})
    assert login(here, user.email, "glacier-harbour-9921").status_code == 302


def test_password_change_refuses_a_wrong_current_password(client: FlaskClient) -> None:
    user = make_user()
    login(client, user.email, PASSWORD)
    response = form_post(
        client,
        "/account/password",
        {
            "current_password": "wrong-one-123",
            "new_password": "glacier-harbour-9921",
            "new_password_again": "glacier-harbour-9921",
        },
    )
    assert response.status_code == 422
    assert db.session.get(User, user.id).password_hash == user.password_hash


def test_deactivation_ends_every_session_at_once(app: Flask) -> None:
    user = make_user()
    browser = app.test_client()
    login(browser, user.email, PASSWORD)
    assert browser.get("/account/").status_code == 200
    accounts.deactivate_user(db.session.get(User, user.id), now=utcnow())
    db.session.commit()
    assert browser.get("/account/").status_code == 302


def test_failed_logins_are_throttled_per_account(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    for _ in range(5):
        assert login(client, user.email, "wrong-password-1").status_code == 401
    # Even the right password is refused while the account is throttled, from any address.
    other = app.test_client()
    response = other.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 429


def test_successful_logins_do_not_count_towards_the_account_limit(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    for _ in range(7):
        assert login(client, user.email, PASSWORD).status_code == 302
        form_post(client, "/logout", {})


def test_login_attempts_are_throttled_per_address(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login",
            data={"email": f"guess{i}@example.com", "password": "x" * 12, "csrf_token": token},
        ).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


CHINESE_PASSWORD = "春眠不觉晓处处闻啼鸟"


def change_password_form(client: FlaskClient, current: str, new: str) -> Any:
    return form_post(
        client,
        "/account/password",
        {"current_password": current, "new_password": new, "new_password_again": new},
        page="/account/",
    )


def test_a_chinese_password_can_be_set_and_used_to_log_in(app: Flask) -> None:
    user = make_user()
    browser = app.test_client()
    login(browser, user.email, PASSWORD)
    assert change_password_form(browser, PASSWORD, CHINESE_PASSWORD).status_code == 302
    form_post(browser, "/logout", {})
    assert login(app.test_client(), user.email, CHINESE_PASSWORD).status_code == 302
    assert login(app.test_client(), user.email, PASSWORD).status_code == 401


def test_a_chinese_password_is_refused_only_when_it_repeats_the_current_one(app: Flask) -> None:
    user = make_user(password=CHINESE_PASSWORD)
    browser = app.test_client()
    assert login(browser, user.email, CHINESE_PASSWORD).status_code == 302
    same = change_password_form(browser, CHINESE_PASSWORD, CHINESE_PASSWORD)
    assert same.status_code == 422
    assert "新密码不能与当前密码相同" in same.get_data(as_text=True)


def test_a_one_time_password_can_be_replaced_by_a_chinese_one(app: Flask) -> None:
    officer = make_user(Role.CHECKPOINT)
    admin = make_user(Role.ADMIN)
    one_time = accounts.reset_password(admin, db.session.get(User, officer.id), now=utcnow())
    db.session.commit()
    browser = app.test_client()
    assert login(browser, officer.email, one_time).status_code == 302
    assert browser.get("/").headers["Location"] == "/account/"  # forced to change it first
    assert change_password_form(browser, one_time, CHINESE_PASSWORD).status_code == 302
    assert browser.get("/").status_code == 200
    assert login(app.test_client(), officer.email, CHINESE_PASSWORD).status_code == 302
