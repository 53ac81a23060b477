"""The rate limiter's storage (Redis) going down degrades the limits, never the routes."""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from permits import create_app
from permits.extensions import db, limiter
from permits.models import Role
from tests.api_helpers import Api
from tests.conftest import (
    IsolatedClient,
    csrf_token,
    form_post,
    login,
    release_connections,
    test_config,
)
from tests.factories import PASSWORD, make_checkpoint, make_pass, make_user

#: Nothing listens on port 1; the password must never reach the log.
CLOSED_REDIS = "redis://:hunter2-secret@127.0.0.1:1/0"


@pytest.fixture
def servers() -> Iterator[list[Flask]]:
    """Apps made by a test; afterwards the (process-wide) limiter trusts its storage again."""
    made: list[Flask] = []
    yield made
    for server in made:
        release_connections(server)
        with server.app_context():
            db.engine.dispose()
    limiter._storage_dead = False  # one Limiter object serves every app of the test process


def server(made: list[Flask], database_url: str, storage_url: str, **config: Any) -> Flask:
    app = create_app(test_config(database_url, RATELIMIT_STORAGE_URL=storage_url, **config))
    app.test_client_class = IsolatedClient
    made.append(app)
    return app


def share_path(app: Flask, browser: Any, number: str) -> str:
    page = browser.post(
        f"/passes/{number}/share", data={"csrf_token": csrf_token(browser)}
    ).get_data(as_text=True)
    link = re.search(r'id="share-link"[^>]*value="([^"]+)"', page)
    assert link, page
    return link.group(1).split("localhost", 1)[1]


def assert_core_routes_answer(app: Flask) -> None:
    """Log-in, verify, the PDF and a share link: what the issue saw answer 500."""
    owner = make_user()
    issued = make_pass(owner)
    officer = make_user(Role.CHECKPOINT, checkpoint=make_checkpoint())
    browser = app.test_client()
    assert login(browser, owner.email, "wrong-password-1").status_code == 401
    assert login(browser, owner.email, PASSWORD).status_code == 302
    assert browser.get(f"/passes/{issued.number}/pdf").status_code == 200
    assert app.test_client().get(share_path(app, browser, issued.number)).status_code == 200
    verdict = Api(app.test_client(), officer).post("/verify", {"qr": issued.token})
    assert verdict.status_code == 200 and verdict.get_json()["result"] == "valid"


def test_with_redis_unreachable_the_limited_routes_still_answer(
    app: Flask, migrated: str, servers: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    degraded = server(servers, migrated, CLOSED_REDIS)
    caplog.set_level(logging.INFO)
    assert_core_routes_answer(degraded)
    assert "rate-limit storage redis://127.0.0.1:1/0 failed" in caplog.text
    assert "hunter2" not in caplog.text


def test_with_redis_unreachable_limits_are_counted_in_the_process(
    app: Flask, migrated: str, servers: list[Flask]
) -> None:
    degraded = server(servers, migrated, CLOSED_REDIS, PDF_LIMIT="2 per minute")
    owner = make_user()
    issued = make_pass(owner)
    api = Api(degraded.test_client(), owner)
    statuses = [api.get(f"/passes/{issued.number}/pdf").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_healthz_reports_the_rate_limit_storage_down_and_counts_the_failures(
    app: Flask, migrated: str, servers: list[Flask]
) -> None:
    healthy = app.test_client().get("/healthz")
    assert healthy.status_code == 200 and healthy.get_json()["status"] == "ok"
    assert healthy.get_json()["checks"]["rate_limit_storage"] == "ok"

    degraded = server(servers, migrated, CLOSED_REDIS)
    client = degraded.test_client()
    before = client.get("/healthz").get_json()["metrics"]["rate_limit_storage_failures"]
    assert login(client, "nobody@example.com", "wrong-password-1").status_code == 401
    answer = client.get("/healthz")
    assert answer.status_code == 200  # the load balancer keeps the server: it serves
    body = answer.get_json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "rate_limit_storage": "unavailable"}
    assert body["metrics"]["rate_limit_storage_failures"] > before
    assert "hunter2" not in answer.get_data(as_text=True)


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test only, on a free port, which the test may stop."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def test_when_redis_goes_away_the_routes_keep_answering(
    app: Flask,
    migrated: str,
    servers: list[Flask],
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, redis_process = own_redis
    live = server(servers, migrated, url)
    assert live.test_client().get("/healthz").get_json()["status"] == "ok"
    assert_core_routes_answer(live)

    redis_process.terminate()
    redis_process.wait(timeout=10)
    assert_core_routes_answer(live)
    assert live.test_client().get("/healthz").get_json()["status"] == "degraded"


def test_clearing_failed_logins_while_redis_is_gone_still_works(
    app: Flask,
    migrated: str,
    servers: list[Flask],
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """The account's failed logins are counted in the database, not in the limiter's storage:
    the admin's unlock does not need Redis, and the officer gets in at once."""
    url, redis_process = own_redis
    live = server(servers, migrated, url)
    officer = make_user(Role.APPROVER)
    attacker = live.test_client()
    for _ in range(6):
        login(attacker, officer.email, "not the password")
    client = live.test_client()
    assert login(client, make_user(Role.ADMIN).email, PASSWORD).status_code == 302
    redis_process.terminate()
    redis_process.wait(timeout=10)
    answer = form_post(client, f"/admin/users/{officer.id}/unlock", {})
    assert answer.status_code == 302
    assert login(live.test_client(), officer.email, PASSWORD).status_code == 302
    assert client.get("/healthz").get_json()["status"] == "degraded"


def test_healthz_says_when_rate_limits_are_off(
    app: Flask, migrated: str, servers: list[Flask]
) -> None:
    benchmark = server(servers, migrated, "memory://", RATELIMIT_ENABLED=False)
    body = benchmark.test_client().get("/healthz").get_json()
    assert body["status"] == "ok" and body["checks"]["rate_limit_storage"] == "disabled"
