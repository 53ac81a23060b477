"""Failed log-ins per account: one count for every worker and server on the database, safe
under concurrent attempts; the owner still gets in while an attacker keeps the account locked."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from permits import create_app
from permits.extensions import db
from permits.mail import outbox
from tests.conftest import IsolatedClient, csrf_token, login, test_config
from tests.factories import PASSWORD, make_user

WRONG = "wrong-password-1"
_UNLOCK_LINK = re.compile(r"http://localhost(/login/unlock/\S+)")


@pytest.fixture
def workers(migrated: str) -> Iterator[list[Flask]]:
    """App processes' worth of state on one database, made by the test as it goes."""
    made: list[Flask] = []
    yield made
    for worker in made:
        with worker.app_context():
            db.engine.dispose()


def start_worker(made: list[Flask], database_url: str) -> Flask:
    """Another worker with its own in-memory limiter storage (Flask-Limiter's default)."""
    worker = create_app(test_config(database_url, RATELIMIT_STORAGE_URL="memory://"))
    worker.test_client_class = IsolatedClient
    made.append(worker)
    return worker


def attempt(client: FlaskClient, email: str, password: str, address: str = "127.0.0.1") -> int:
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return int(client.post("/login", data=data, environ_base={"REMOTE_ADDR": address}).status_code)


def test_workers_sharing_the_database_share_the_count(
    app: Flask, migrated: str, workers: list[Flask]
) -> None:
    user = make_user()
    first = start_worker(workers, migrated).test_client()
    assert [attempt(first, user.email, WRONG) for _ in range(3)] == [401] * 3
    second = start_worker(workers, migrated).test_client()  # its limiter has counted nothing
    assert [attempt(second, user.email, WRONG) for _ in range(3)] == [401, 401, 429]
    assert attempt(first, user.email, PASSWORD) == 429


def test_simultaneous_attempts_get_no_more_than_the_limit(app: Flask) -> None:
    email = make_user().email
    clients = [app.test_client() for _ in range(10)]
    tokens = [csrf_token(client) for client in clients]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def guess(client: FlaskClient, token: str) -> None:
        start.wait()
        data = {"email": email, "password": WRONG, "csrf_token": token}
        statuses.append(client.post("/login", data=data).status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 5


def test_the_lock_says_for_how_long(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    for _ in range(5):
        attempt(client, user.email, WRONG)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    refused = client.post("/login", data=data)
    assert refused.status_code == 429
    assert 840 < int(refused.headers["Retry-After"]) <= 900
    page = refused.get_data(as_text=True)
    assert "此账号将再锁定 15 分钟" in page and "发送到账号邮箱的链接" in page


def test_the_owners_browser_gets_in_while_the_attacker_is_locked_out(app: Flask) -> None:
    """A browser that logged in to the account before is let through with the right password."""
    user = make_user()
    owner = app.test_client()
    assert login(owner, user.email, PASSWORD).status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner)})

    attacker = app.test_client()
    assert [attempt(attacker, user.email, WRONG, "10.9.9.9") for _ in range(6)][-1] == 429
    assert attempt(owner, user.email, WRONG) == 401  # a wrong password is still wrong
    assert attempt(owner, user.email, PASSWORD) == 302
    assert owner.get("/account/").status_code == 200
    assert attempt(attacker, user.email, PASSWORD, "10.9.9.9") == 429


def test_the_owner_on_a_new_browser_gets_in_with_the_emailed_link(app: Flask) -> None:
    user = make_user()
    attacker = app.test_client()
    statuses = [attempt(attacker, user.email, WRONG, "10.9.9.9") for _ in range(9)]
    assert statuses == [401] * 5 + [429] * 4
    sent = [m for m in outbox(app) if m.to == user.email]
    assert len(sent) == 1  # once per lock, however often the attacker tries
    link = _UNLOCK_LINK.search(sent[0].body)
    assert link is not None

    owner = app.test_client()
    assert attempt(owner, user.email, PASSWORD) == 429
    opened = owner.get(link.group(1))
    assert opened.status_code == 302 and opened.location == "/login"
    assert attempt(owner, user.email, PASSWORD) == 302
    assert attempt(attacker, user.email, PASSWORD, "10.9.9.9") == 429


def test_a_forged_unlock_link_opens_nothing(app: Flask) -> None:
    user = make_user()
    attacker = app.test_client()
    for _ in range(5):
        attempt(attacker, user.email, WRONG)
    opened = attacker.get("/login/unlock/1.forged.signature", follow_redirects=True)
    assert "已过期或无效" in opened.get_data(as_text=True)
    assert attempt(attacker, user.email, PASSWORD) == 429


def test_an_unknown_address_is_locked_alike_and_nobody_is_emailed(app: Flask) -> None:
    client = app.test_client()
    statuses = [attempt(client, "nobody@example.com", WRONG) for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert outbox(app) == []


def test_right_passwords_give_their_attempt_back(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, user.email, WRONG) == 401
    for _ in range(3):
        assert attempt(client, user.email, PASSWORD) == 302
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    stranger = app.test_client()  # the first client is known to the account by now
    assert attempt(stranger, user.email, WRONG) == 401
    assert attempt(stranger, user.email, WRONG) == 429
