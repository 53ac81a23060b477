"""The scan log written in batches by each worker, and the remembered owners of API tokens:
what makes verification cheap must not make it lose scans or honour a revoked token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from permits import create_app, scan_log
from permits.extensions import db
from permits.models import Role, ScanEvent, utcnow
from permits.services import accounts, api_tokens
from tests.api_helpers import Api
from tests.conftest import (
    IsolatedClient,
    empty_every_table,
    login,
    release_connections,
    test_config,
)
from tests.factories import PASSWORD, make_pass, make_user


@pytest.fixture
def batching_app(migrated: str) -> Iterator[Flask]:
    """The production setting: scans written by a background writer every 50 ms."""
    app = create_app(test_config(migrated, SCAN_LOG_FLUSH_MS=50))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        app.extensions["permits.scan_log"].stop()
        release_connections(app)
        db.session.remove()
        empty_every_table()
        db.engine.dispose()


def scan_count() -> int:
    """Counted in a transaction of its own, ended at once: the writer needs the write lock."""
    db.session.rollback()
    count = db.session.scalar(select(func.count()).select_from(ScanEvent)) or 0
    db.session.rollback()
    return count


def test_batched_scans_reach_the_database_within_the_interval(batching_app: Flask) -> None:
    issued = make_pass()
    officer = Api(batching_app.test_client(), make_user(Role.CHECKPOINT))
    before = utcnow()
    for _ in range(5):
        assert officer.post("/verify", {"qr": issued.token}).status_code == 200
    after = utcnow()
    deadline = time.monotonic() + 5
    while scan_count() < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert scan_count() == 5
    scans = db.session.scalars(select(ScanEvent)).all()
    db.session.rollback()
    assert {(s.pass_id, s.result, s.method, s.is_offline) for s in scans} == {
        (issued.id, "valid", "qr", False)
    }
    assert all(before <= s.scanned_at <= after for s in scans)  # the time, in UTC, kept exactly


def test_the_history_page_shows_a_scan_made_a_moment_ago(batching_app: Flask) -> None:
    issued = make_pass()
    user = make_user(Role.CHECKPOINT)
    officer = Api(batching_app.test_client(), user)
    writer = batching_app.extensions["permits.scan_log"]
    writer.interval = 3600  # the background writer would not get to it in time
    writer.flush()
    assert officer.post("/verify", {"code": issued.control_code}).status_code == 200
    browser = batching_app.test_client()
    login(browser, user.email, PASSWORD)
    assert issued.number in browser.get("/checkpoint/history").get_data(as_text=True)


def test_stopping_the_writer_writes_what_is_buffered(batching_app: Flask) -> None:
    issued = make_pass()
    officer = Api(batching_app.test_client(), make_user(Role.CHECKPOINT))
    writer = batching_app.extensions["permits.scan_log"]
    writer.interval = 3600
    writer.flush()
    for _ in range(3):
        officer.post("/verify", {"plate": issued.plate})
    writer.stop()
    assert scan_count() == 3


def test_a_failed_write_keeps_the_scans_for_the_next_attempt(batching_app: Flask) -> None:
    writer = scan_log.ScanLog(db.engine, 3600)
    user = make_user(Role.CHECKPOINT)
    row = {
        "pass_id": None,
        "checkpoint_id": None,
        "user_id": user.id,
        "scanned_at": utcnow(),
        "result": "not_found",
        "method": "code",
        "is_offline": False,
        "anomaly": None,
        "client_id": None,
    }
    writer.append({**row, "result": None})  # every scan has a result: the batch is refused
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        writer.flush()
    assert scan_count() == 0
    writer._rows.clear()
    writer.append(row)
    assert writer.flush() == 1
    assert scan_count() == 1
    writer.stop()


def test_a_revoked_token_stops_verifying_at_once(app: Flask) -> None:
    issued = make_pass()
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT))
    assert officer.post("/verify", {"qr": issued.token}).status_code == 200
    token = officer.user.api_tokens[-1]
    api_tokens.revoke_api_token(token, now=utcnow())
    db.session.commit()
    assert officer.post("/verify", {"qr": issued.token}).status_code == 401


def test_a_deactivated_officer_stops_verifying_at_once(app: Flask) -> None:
    issued = make_pass()
    user = make_user(Role.CHECKPOINT)
    officer = Api(app.test_client(), user)
    assert officer.post("/verify", {"qr": issued.token}).status_code == 200
    accounts.deactivate_user(user, now=utcnow())
    db.session.commit()
    assert officer.post("/verify", {"qr": issued.token}).status_code == 401
