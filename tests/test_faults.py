"""Faults: a crash mid-issue, the database going away and coming back, a full or locked disk."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event, func, select

from permits import create_app
from permits.extensions import db
from permits.models import Application, Attachment, Counter, Decision, Pass, Role, utcnow
from permits.passes import token
from permits.services import reviews
from permits.workflow import State
from tests.api_helpers import Api
from tests.conftest import release_connections, test_config
from tests.factories import PDF, make_application, make_approver, make_pass, make_user

IS_ROOT = os.geteuid() == 0


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# --- a crash between the decision and the pass -----------------------------------------------


def test_a_crash_after_the_decision_is_written_leaves_no_decision_pass_or_used_serial(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user(Role.ENTERPRISE)
    first = make_pass(owner)
    application = make_application(owner, submit=True, plate="沪A77777")
    reviews.decide(make_approver("commerce", "310115"), application, "approve", now=utcnow())
    db.session.commit()
    decisions_before = count(Decision)
    city = Api(app.test_client(), make_approver("transport", "city"))
    seen_inside: dict[str, int] = {}

    def crash_while_signing(*args: Any, **kwargs: Any) -> None:
        # The exact point: the decision row is written and the serial taken, in this transaction.
        seen_inside["decisions"] = count(Decision)
        seen_inside["serial"] = db.session.get(Counter, "pass:310115").value
        raise RuntimeError("signer crashed")

    monkeypatch.setattr(token, "sign", crash_while_signing)
    response = city.post(f"/applications/{application.id}/decisions", {"decision": "approve"})
    assert response.status_code == 500
    assert seen_inside == {"decisions": decisions_before + 1, "serial": 2}
    db.session.expire_all()
    assert db.session.get(Application, application.id).status is State.IN_REVIEW
    assert count(Decision) == decisions_before
    assert count(Pass) == 1
    assert db.session.get(Counter, "pass:310115").value == 1

    monkeypatch.undo()
    response = city.post(f"/applications/{application.id}/decisions", {"decision": "approve"})
    assert response.status_code == 201
    assert response.get_json()["application"]["pass"]["number"] == "310115000002"
    assert first.number == "310115000001"


# --- the database goes away ------------------------------------------------------------------


class Outage:
    """Every new connection of the app's engine fails while `down`; the pool is emptied."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.down = False
        dbapi = db.engine.dialect.loaded_dbapi

        @event.listens_for(db.engine, "do_connect")
        def refuse(*args: Any) -> None:
            if self.down:
                raise dbapi.OperationalError("connection refused (simulated outage)")

    def start(self) -> None:
        self.down = True
        db.session.remove()
        release_connections(self.app)
        db.engine.dispose()

    def end(self) -> None:
        self.down = False


def assert_json_503(response: Any) -> None:
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "unavailable" and body["message"]
    assert response.headers["Retry-After"]


def test_while_the_database_is_down_the_api_answers_503_json_and_recovers_after(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    staff = make_user(Role.CHECKPOINT, email="officer@example.cn")
    api = Api(app.test_client(), staff)
    outage = Outage(app)
    outage.start()
    with caplog.at_level(logging.ERROR):
        for response in (
            api.get("/me"),
            api.get("/applications"),
            api.post("/verify", {"code": "00000000"}),
            app.test_client().get("/api/v1/revocations?since=0"),
        ):
            assert_json_503(response)
        assert_json_503(app.test_client().get("/healthz"))  # the load balancer sees it
    lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert lines and all("officer@" not in r.getMessage() for r in lines)
    assert "Traceback" not in caplog.text and "SELECT" not in caplog.text
    outage.end()
    assert api.get("/me").status_code == 200  # the first request after recovery


def test_while_the_database_is_down_pages_answer_with_a_503_page(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    from tests.conftest import login

    assert login(client, user.email, "river-lantern-4711").status_code == 302
    outage = Outage(app)
    outage.start()
    page = client.get("/applications/", headers={"Accept-Language": "en"})
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "briefly unavailable" in text and "Traceback" not in text
    assert page.headers["Content-Type"].startswith("text/html")
    outage.end()
    assert client.get("/applications/").status_code == 200


def test_a_database_nobody_listens_for_is_a_503_not_a_traceback(tmp_path: Path) -> None:
    for url in (
        "postgresql+psycopg://postgres@127.0.0.1:1/permits?connect_timeout=2",
        "sqlite:///" + str(tmp_path / "no" / "such" / "folder" / "permits.sqlite3"),
    ):
        app = create_app(test_config(url))
        client = app.test_client()
        assert_json_503(client.get("/api/v1/revocations?since=0"))
        assert client.get("/healthz").status_code == 503
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def admin_engine(app: Flask, is_postgres: bool) -> Any:
    if not is_postgres:
        pytest.skip("terminating server backends needs PostgreSQL")
    server = os.environ["PERMITS_TEST_DATABASE_URL"]
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    yield engine
    with engine.connect() as conn:
        name = db.engine.url.database
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    engine.dispose()


def test_postgresql_restart_under_load_gives_503s_then_recovers(
    app: Flask, admin_engine: Any
) -> None:
    """The server refuses connections and every backend of the app is killed mid-run."""
    name = db.engine.url.database
    api = Api(app.test_client(), make_user())
    assert api.get("/applications").status_code == 200  # the pool holds a live connection

    def kill_backends() -> None:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )

    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    kill_backends()
    for _ in range(3):
        assert_json_503(api.get("/applications"))
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert api.get("/applications").status_code == 200  # pre-ping replaced the dead ones
    kill_backends()
    assert api.get("/applications").status_code == 200


# --- a full disk or a folder that cannot be written ------------------------------------------


def upload(api: Api, application_id: int) -> Any:
    from io import BytesIO

    return api.client.post(
        f"/api/v1/applications/{application_id}/attachments",
        data={"purpose": "prevention_plan", "file": (BytesIO(PDF), "plan.pdf")},
        headers=api.headers,
    )


def full_disk(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, name, no_space)


def assert_storage_refused(response: Any, caplog: pytest.LogCaptureFixture, what: str) -> None:
    assert response.status_code == 507
    assert response.get_json()["error"] == "insufficient_storage"
    assert "请稍后再试" in response.get_json()["message"]  # the default language, zh
    assert any(what in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_a_full_disk_while_uploading_is_reported_not_swallowed(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    owner = make_user()
    draft = make_application(owner)
    api = Api(app.test_client(), owner)
    full_disk(monkeypatch, "replace")
    with caplog.at_level(logging.ERROR):
        response = upload(api, draft.id)
    assert_storage_refused(response, caplog, "ENOSPC")
    assert count(Attachment) == 0
    assert not [p for p in Path(app.config["UPLOAD_DIR"]).iterdir() if p.name.endswith(".part")]


@pytest.mark.skipif(IS_ROOT, reason="root writes through chmod 0500; see the full-disk test")
def test_an_unwritable_upload_folder_is_reported(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    locked = tmp_path / "uploads"
    locked.mkdir(mode=0o500)
    app.config["UPLOAD_DIR"] = str(locked)
    owner = make_user()
    draft = make_application(owner)
    with caplog.at_level(logging.ERROR):
        response = upload(Api(app.test_client(), owner), draft.id)
    assert_storage_refused(response, caplog, "EACCES")


def test_a_key_folder_that_cannot_be_written_stops_issuing_with_a_clear_answer(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o500)
    app.config["KEYS_DIR"] = str(keys)  # empty: the first pass must make a key
    if IS_ROOT:
        full_disk(monkeypatch, "open")
    owner = make_user()
    application = make_application(owner, submit=True)
    reviews.decide(make_approver("commerce", "310115"), application, "approve", now=utcnow())
    db.session.commit()
    decisions_before = count(Decision)
    city = Api(app.test_client(), make_approver("transport", "city"))
    with caplog.at_level(logging.ERROR):
        response = city.post(f"/applications/{application.id}/decisions", {"decision": "approve"})
        keys_feed = city.get("/keys")
    assert_storage_refused(response, caplog, "signing key")
    assert keys_feed.status_code == 507
    db.session.expire_all()
    assert count(Decision) == decisions_before and count(Pass) == 0
