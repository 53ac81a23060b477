"""The database under concurrency: no double writes, no "database is locked", on both engines."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from permits.extensions import db
from permits.models import Enterprise
from permits.services import organisations
from permits.services.errors import Conflict
from tests.conftest import csrf_token
from tests.factories import make_uscc
from tests.test_registration import registration

THREADS = 8


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app: Flask, is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_simultaneous_creations_of_one_enterprise_give_one_row(app: Flask) -> None:
    """Read-check-write from eight threads at once: one lands, the others get a clear refusal."""
    uscc = make_uscc()
    barrier = threading.Barrier(THREADS)

    def attempt(_: int) -> str:
        with app.app_context():
            barrier.wait()
            try:
                organisations.create_enterprise(
                    organisations.EnterpriseDetails(uscc=uscc, name="并发测试", district="310115")
                )
                db.session.commit()
                return "created"
            except Conflict:
                db.session.rollback()
                return "conflict"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["created"]
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1


def test_simultaneous_registrations_through_the_web_never_fail_with_a_500(app: Flask) -> None:
    clients = [app.test_client() for _ in range(THREADS)]
    tokens = [csrf_token(c, "/register") for c in clients]
    barrier = threading.Barrier(THREADS)

    def register(i: int) -> int:
        barrier.wait()
        data = registration(email=f"user{i}@example.com", csrf_token=tokens[i])
        return clients[i].post("/register", data=data).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = sorted(pool.map(register, range(THREADS)))
    assert statuses == [302] + [422] * (THREADS - 1)
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 1


def test_a_failed_request_leaves_nothing_half_written(app: Flask) -> None:
    """The enterprise is flushed before the account fails: the request must roll both back."""
    client = app.test_client()
    from tests.factories import make_user

    taken = make_user().email
    token = csrf_token(client, "/register")
    response = client.post("/register", data=registration(email=taken, csrf_token=token))
    assert response.status_code == 422
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Enterprise)
            .where(Enterprise.name == "上海浦江冷链物流有限公司")
        )
        == 0
    )
