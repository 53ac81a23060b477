"""PERMITS_READ_DATABASE_URL: the verify hot read and the dashboard's figures come from the read
replica; every other read and every write stays on the primary.

The "replica" here is a second database (a second SQLite file, or a second PostgreSQL database)
holding a copy of the primary whose content is then changed behind the primary's back, so that
each answer shows which of the two it was read from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine, make_url

from permits import create_app
from permits.database import read_engine
from permits.extensions import db
from permits.models import Base, Pass, PassStatus, Role, ScanEvent
from tests.api_helpers import Api
from tests.conftest import (
    IsolatedClient,
    empty_every_table,
    release_connections,
    test_config,
)
from tests.factories import make_approver, make_pass, make_user

REPLICA_ONLY_REASON = "revoked on the replica only"


@pytest.fixture
def replica_url(migrated: str, tmp_path: Path) -> Iterator[str]:
    """An empty second database next to the primary, dropped afterwards."""
    server = os.environ.get("PERMITS_TEST_DATABASE_URL")
    if not server:
        yield "sqlite:///" + str(tmp_path / "replica.sqlite3")
        return
    name = make_url(migrated).database + "_replica"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def replicated(migrated: str, replica_url: str) -> Iterator[Flask]:
    """An app whose READ_DATABASE_URL names the second database, with the primary's schema."""
    app = create_app(test_config(migrated, READ_DATABASE_URL=replica_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        Base.metadata.create_all(read_engine())
        yield app
        release_connections(app)
        db.session.remove()
        empty_every_table()
        for engine in db.engines.values():
            engine.dispose()


def copy_primary_to(replica: Engine) -> None:
    """What streaming replication would have done: every row of the primary, on the replica."""
    db.session.commit()
    with db.engine.connect() as source, replica.begin() as target:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row) for row in source.execute(sa.select(table)).mappings()]
            if rows:
                target.execute(table.insert(), rows)


def revoke_on_replica_only(number: str) -> None:
    with read_engine().begin() as conn:
        conn.execute(
            sa.update(Pass)
            .where(Pass.number == number)
            .values(status=PassStatus.REVOKED, revoke_reason=REPLICA_ONLY_REASON)
        )


def count(engine: Engine, statement: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def test_the_read_engine_is_the_primary_unless_a_replica_is_set(app: Flask) -> None:
    assert read_engine() is db.engine
    assert "read" not in (app.config.get("SQLALCHEMY_BINDS") or {})


def test_a_bare_postgresql_replica_url_gets_the_installed_driver(migrated: str) -> None:
    app = create_app(test_config(migrated, READ_DATABASE_URL="postgresql://reader@replica/permits"))
    assert app.config["SQLALCHEMY_BINDS"]["read"] == "postgresql+psycopg://reader@replica/permits"


def test_verify_and_stats_read_the_replica_while_writes_go_to_the_primary(
    replicated: Flask,
) -> None:
    issued = make_pass()
    officer = Api(replicated.test_client(), make_user(Role.CHECKPOINT))
    supervisor = Api(replicated.test_client(), make_user(Role.SUPERVISOR))
    qr, number, code = issued.token, issued.number, issued.control_code
    copy_primary_to(read_engine())
    revoke_on_replica_only(number)

    assert officer.post("/verify", {"qr": qr}).get_json()["result"] == "revoked"
    # Every other read is the primary's, where the pass is still in force.
    assert officer.post("/verify", {"code": code}).get_json()["result"] == "valid"

    stats = supervisor.get("/stats").get_json()
    assert (stats["passes_issued"], stats["passes_revoked"], stats["passes_active"]) == (1, 1, 0)

    # The scans were written to the primary only.
    scans = sa.select(sa.func.count()).select_from(ScanEvent)
    assert count(db.engine, scans) == 2
    assert count(read_engine(), scans) == 0


def test_a_revocation_is_written_to_the_primary_and_reaches_verify_through_the_replica(
    replicated: Flask,
) -> None:
    issued = make_pass()
    approver = make_approver("transport", "city")
    qr, number = issued.token, issued.number
    officer = Api(replicated.test_client(), make_user(Role.CHECKPOINT))
    revoker = Api(replicated.test_client(), approver)
    copy_primary_to(read_engine())

    response = revoker.post(f"/passes/{number}/revoke", {"reason": "Plate reported stolen"})
    assert response.status_code == 200, response.get_json()
    revoked = sa.select(Pass.status).where(Pass.number == number)
    with db.engine.connect() as conn:
        assert conn.execute(revoked).scalar_one() is PassStatus.REVOKED
    # Until the replica has replayed it, checkpoints reading the replica still see it valid.
    assert officer.post("/verify", {"qr": qr}).get_json()["result"] == "valid"

    with read_engine().begin() as conn:  # replication catches up
        conn.execute(sa.update(Pass).where(Pass.number == number).values(status=PassStatus.REVOKED))
    assert officer.post("/verify", {"qr": qr}).get_json()["result"] == "revoked"
