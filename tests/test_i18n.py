"""Both languages: the browser's choice, the header switch, and the user's remembered choice."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import User
from tests.conftest import csrf_token, form_post, login, project_root
from tests.factories import PASSWORD, make_user


def heading(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()


def test_login_page_reads_denglu_in_chinese(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(
        as_text=True
    )
    assert heading(page) == "登录"
    assert '<html lang="zh-CN">' in page


def test_login_page_reads_log_in_in_english(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(
        as_text=True
    )
    assert heading(page) == "Log in"
    assert '<html lang="en">' in page


def test_chinese_is_the_default_without_a_browser_preference(client: FlaskClient) -> None:
    assert heading(client.get("/login").get_data(as_text=True)) == "登录"


def test_the_header_switch_changes_the_language_for_the_session(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = form_post(client, "/language", {"locale": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert heading(client.get("/login").get_data(as_text=True)) == "Log in"


def test_the_switch_never_redirects_to_another_site(client: FlaskClient) -> None:
    response = form_post(client, "/language", {"locale": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_the_choice_is_remembered_for_the_user_on_another_device(app: Flask) -> None:
    user = make_user()
    phone = app.test_client()
    login(phone, user.email, PASSWORD)
    form_post(phone, "/language", {"locale": "en", "next": "/"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"

    laptop = app.test_client()
    laptop.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(laptop, user.email, PASSWORD)
    assert "My account" in laptop.get("/").get_data(as_text=True)


def test_language_switch_needs_csrf(client: FlaskClient) -> None:
    csrf_token(client)
    assert client.post("/language", data={"locale": "en"}).status_code == 400


def test_every_message_has_a_chinese_translation() -> None:
    """The catalogue is complete: no empty or fuzzy entry (pybabel would ship English)."""
    po = (project_root() / "permits/translations/zh/LC_MESSAGES/messages.po").read_text()
    entries = po.split("\n\n")[1:]
    assert entries
    for entry in entries:
        assert "#, fuzzy" not in entry, entry
        assert not re.search(r'msgstr ""\n*$', entry.strip() + "\n"), entry
