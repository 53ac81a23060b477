"""Rate limits kept in Redis are shared by every app server."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from permits import create_app
from permits.extensions import db
from tests.conftest import IsolatedClient, csrf_token, test_config
from tests.factories import make_user

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_available() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")


@pytest.fixture
def servers() -> Iterator[list[Flask]]:
    """App servers made by a test; their connection pools are closed after it."""
    made: list[Flask] = []
    yield made
    for app in made:
        with app.app_context():
            db.engine.dispose()


def server(made: list[Flask], database_url: str, storage_url: str, prefix: str) -> Flask:
    app = create_app(
        test_config(database_url, RATELIMIT_STORAGE_URL=storage_url, RATELIMIT_KEY_PREFIX=prefix)
    )
    app.test_client_class = IsolatedClient
    made.append(app)
    return app


def failed_login(app: Flask, email: str) -> int:
    client = app.test_client()
    data = {"email": email, "password": "wrong-password-1", "csrf_token": csrf_token(client)}
    return int(client.post("/login", data=data).status_code)


@pytest.mark.parametrize("storage", [REDIS_URL, "memory://"])
def test_a_server_started_later_knows_the_failures_counted_by_another(
    app: Flask,
    migrated: str,
    servers: list[Flask],
    redis_available: None,
    storage: str,
) -> None:
    """Server B starts with its own limiter storage: the account's failures are counted in the
    database they share, so B refuses the sixth attempt whatever the limiter keeps."""
    user = make_user()
    prefix = f"test-{secrets.token_hex(4)}"
    first = server(servers, migrated, storage, prefix)
    assert [failed_login(first, user.email) for _ in range(5)] == [401] * 5
    second = server(servers, migrated, storage, prefix)
    assert failed_login(second, user.email) == 429


# --- the limits themselves (in-memory storage, one server) -----------------------------------


def test_pdf_rendering_is_limited_per_user_across_page_and_api(app: Flask) -> None:
    from tests.api_helpers import Api
    from tests.factories import make_pass

    app.config["PDF_LIMIT"] = "3 per minute"
    owner = make_user()
    issued = make_pass(owner)
    api = Api(app.test_client(), owner)
    statuses = [api.get(f"/passes/{issued.number}/pdf").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = api.get(f"/passes/{issued.number}/pdf")
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    # Another user of the same enterprise still gets the pass.
    colleague = Api(app.test_client(), make_user(enterprise=owner.enterprise))
    assert colleague.get(f"/passes/{issued.number}/pdf").status_code == 200


def test_revalidating_an_unchanged_pdf_does_not_count_towards_the_limit(app: Flask) -> None:
    from tests.api_helpers import Api
    from tests.factories import make_pass

    app.config["PDF_LIMIT"] = "2 per minute"
    owner = make_user()
    issued = make_pass(owner)
    api = Api(app.test_client(), owner)
    first = api.get(f"/passes/{issued.number}/pdf")
    headers = {**api.headers, "If-None-Match": first.headers["ETag"]}
    path = f"/api/v1/passes/{issued.number}/pdf"
    assert [api.client.get(path, headers=headers).status_code for _ in range(5)] == [304] * 5
    assert api.get(f"/passes/{issued.number}/pdf").status_code == 200


def test_registrations_are_limited_per_address(app: Flask) -> None:
    app.config["REGISTER_LIMIT_IP"] = "2 per hour"
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/register"), "uscc": "bad"}
    assert [client.post("/register", data=data).status_code for _ in range(2)] == [422, 422]
    assert client.post("/register", data=data).status_code == 429


def test_verification_is_limited_per_user(app: Flask) -> None:
    from permits.models import Role
    from tests.api_helpers import Api
    from tests.factories import make_checkpoint

    app.config["VERIFY_LIMIT"] = "3 per minute"
    api = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=make_checkpoint()))
    answers = [api.post("/verify", {"code": "0000000"}).status_code for _ in range(4)]
    assert answers[:3] != [429] * 3 and answers[3] == 429


# --- registration: per account being created, and a much higher limit per address ------------


def registration_attempt(client: FlaskClient, n: int, **overrides: str) -> int:
    """A registration of enterprise number n, refused for its weak password unless given one."""
    from tests.factories import make_uscc
    from tests.test_registration import registration

    rng = random.Random(n)
    given = {
        "uscc": make_uscc(rng=rng),
        "email": f"contact{n}@park.example.com",
        "password": "short",
        "password_again": "short",
    }
    data = registration(**{**given, **overrides})
    data["csrf_token"] = csrf_token(client, "/register")
    return int(client.post("/register", data=data).status_code)


def test_enterprises_behind_one_address_register_and_retry_without_locking_each_other_out(
    app: Flask,
) -> None:
    """An industrial park on one NAT address: fifteen enterprises each get a field wrong once,
    and one more registers, all from the same address."""
    park = app.test_client()
    assert [registration_attempt(park, n) for n in range(15)] == [422] * 15
    good = "park-gate-river-7788"
    assert registration_attempt(park, 99, password=good, password_again=good) == 302


def test_one_account_is_limited_whatever_the_address(app: Flask) -> None:
    app.config["REGISTER_LIMIT_ACCOUNT"] = "3 per hour"
    statuses = []
    for i in range(4):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.1.0.{i}"
        statuses.append(registration_attempt(client, 7))
    assert statuses == [422, 422, 422, 429]
    # The same USCC with another email address is the same account being created.
    other_email = app.test_client()
    other_email.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    assert registration_attempt(other_email, 7, email="someone.else@park.example.com") == 429
    # Another enterprise from the same addresses is not held up.
    assert registration_attempt(other_email, 8) == 422


def test_a_refused_registration_says_when_to_try_again(app: Flask) -> None:
    app.config["REGISTER_LIMIT_IP"] = "1 per hour"
    client = app.test_client()
    assert registration_attempt(client, 1) == 422
    data = {"csrf_token": csrf_token(client, "/register"), "uscc": "bad"}
    refused = client.post("/register", data=data)
    assert refused.status_code == 429
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    assert "请在 60 分钟后重试" in refused.get_data(as_text=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    english = client.post("/register", data=data)
    assert "Please try again in 60 minutes" in english.get_data(as_text=True)
