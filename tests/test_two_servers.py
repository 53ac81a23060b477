"""Two gunicorn app servers on different ports, one PostgreSQL and one Redis: a user's session,
CSRF token, rate-limit counts and the signing keys are the same whichever server answers.

Skipped unless PostgreSQL and Redis are reachable; PERMITS_TEST_REQUIRE_POSTGRES=1 (as CI sets
it) makes that an error. The test makes its own database (dropped after), its own keys folder
and its own Redis key prefix (deleted after), so it runs beside the rest of the suite.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from permits import create_app
from permits.extensions import db
from permits.models import Application, Pass, Role
from permits.workflow import State
from tests.api_helpers import token_for
from tests.conftest import TEST_SECRET, project_root, test_config
from tests.factories import PASSWORD, make_application, make_approver, make_user

POSTGRES_URL = os.environ.get(
    "PERMITS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PERMITS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: Seconds a server has to answer its first request.
START_TIMEOUT = 20
GUNICORN = (sys.executable, "-m", "gunicorn", "--workers", "1", "--log-level", "warning")
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _unreachable(why: str) -> None:
    if os.environ.get("PERMITS_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{why} (PERMITS_TEST_REQUIRE_POSTGRES=1)")
    pytest.skip(why)


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, migrated, dropped afterwards."""
    if make_url(POSTGRES_URL).get_backend_name() != "postgresql":
        _unreachable("two app servers need PostgreSQL")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except sa.exc.OperationalError:
        admin.dispose()
        _unreachable(f"no PostgreSQL at {make_url(POSTGRES_URL).render_as_string()}")
    name = f"permits_two_servers_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the Redis database; its keys are deleted afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        _unreachable(f"no Redis at {REDIS_URL}")
    prefix = f"two-servers-{secrets.token_hex(4)}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Browser:
    """One user agent: its cookies go to whichever server it talks to, as behind a balancer."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, port: int, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        headers = {"Host": f"127.0.0.1:{port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{port}/"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["expires"] and not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, text
        finally:
            conn.close()

    def csrf_token(self, port: int, path: str) -> str:
        status, page = self.request(port, "GET", path)
        found = _CSRF_META.search(page)
        assert status == 200 and found, (status, path)
        return found.group(1)

    def log_in(self, port: int, email: str, password: str) -> int:
        token = self.csrf_token(port, "/login")
        form = {"email": email, "password": password, "csrf_token": token}
        return self.request(port, "POST", "/login", form)[0]


def api(port: int, token: str, path: str, body: dict[str, Any]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request("POST", "/api/v1" + path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def servers(database: str, redis_prefix: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Two gunicorn servers sharing the database, Redis and the keys folder; their ports."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    env = {
        **os.environ,
        "PERMITS_SECRET_KEY": TEST_SECRET,
        "PERMITS_DATABASE_URL": database,
        "PERMITS_RATELIMIT_STORAGE_URL": REDIS_URL,
        "PERMITS_RATELIMIT_KEY_PREFIX": redis_prefix,
        "PERMITS_KEYS_DIR": str(keys),
        "PERMITS_UPLOAD_DIR": str(tmp_path / "uploads"),
        "PERMITS_MAIL_SERVER": "",
    }
    # Tests set the app's own settings in-process: the servers must not inherit a test database.
    env.pop("PERMITS_TEST_DATABASE_URL", None)
    app = create_app(test_config(database, KEYS_DIR=str(keys)))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    ports = (free_port(), free_port())
    started = [
        subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=project_root(),
            env=env,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, started, strict=True):
            _wait_until_serving(port, process)
        with app.app_context():
            yield ports
            db.session.remove()
            db.engine.dispose()
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=10)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server on port {port} exited"
        try:
            if Browser().request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server on port {port} did not start in {START_TIMEOUT} s")


def approve_across(log_in_on: int, approve_on: int, approver: Any, application_id: int) -> None:
    """Log in on one server; approve on the other with the same cookie and CSRF token."""
    browser = Browser()
    assert browser.log_in(log_in_on, approver.email, PASSWORD) == 302
    token = browser.csrf_token(log_in_on, "/review/")
    form = {"decision": "approve", "comment": "", "csrf_token": token}
    status, _ = browser.request(approve_on, "POST", f"/review/{application_id}/decision", form)
    assert status == 302


def test_a_journey_across_two_app_servers(servers: tuple[int, int]) -> None:
    first, second = servers
    application = make_application(submit=True)
    step_one = make_approver(application.current_department_code, application.current_scope)
    step_two = make_approver("transport", "city")
    officer_token = token_for(make_user(Role.CHECKPOINT))
    throttled = make_user(Role.APPROVER)
    application_id = application.id

    # A session and CSRF token made by one server are honoured by the other.
    approve_across(first, second, step_one, application_id)
    assert _current_step(application_id) == 2
    approve_across(second, first, step_two, application_id)
    assert _status(application_id) is State.APPROVED
    number, qr = db.session.execute(
        sa.select(Pass.number, Pass.token).where(Pass.application_id == application_id)
    ).one()

    # The pass signed by one server verifies on the other: they share the keys.
    for port in servers:
        status, verdict = api(port, officer_token, "/verify", {"qr": qr})
        assert status == 200 and verdict["result"] == "valid", verdict
        assert verdict["pass"]["number"] == number

    # Failed log-ins are counted in Redis, whichever server saw them.
    browser = Browser()
    failures = [browser.log_in(port, throttled.email, "wrong-password-1") for port in servers * 2]
    assert failures == [401] * 4
    assert browser.log_in(first, throttled.email, "wrong-password-1") == 401
    assert browser.log_in(second, throttled.email, PASSWORD) == 429

    # Logging out on one server ends the session on the other too.
    approver = Browser()
    assert approver.log_in(first, step_one.email, PASSWORD) == 302
    assert approver.request(second, "GET", "/review/")[0] == 200
    copied = Browser(dict(approver.cookies))
    token = approver.csrf_token(second, "/review/")
    assert approver.request(first, "POST", "/logout", {"csrf_token": token})[0] == 302
    assert copied.request(second, "GET", "/review/")[0] == 302


def _current_step(application_id: int) -> int | None:
    db.session.rollback()  # a fresh snapshot: the servers wrote since the last read
    return db.session.scalar(
        sa.select(Application.current_step).where(Application.id == application_id)
    )


def _status(application_id: int) -> State | None:
    db.session.rollback()
    return db.session.scalar(sa.select(Application.status).where(Application.id == application_id))
