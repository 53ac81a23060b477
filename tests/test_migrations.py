"""`flask db upgrade` from empty gives exactly the models' schema, downgrades cleanly, and every
migration goes up and down over a database with rows in it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from permits import create_app
from permits.extensions import db
from permits.models import Base
from tests.conftest import test_config


def schema_differences() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgraded_schema_matches_the_models(app: Flask) -> None:
    assert schema_differences() == []


def test_downgrade_to_empty_and_upgrade_again(app: Flask) -> None:
    db.session.remove()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_differences() == []
    assert {t.name for t in Base.metadata.sorted_tables} <= set(
        inspect(db.engine).get_table_names()
    )


# --- each migration, up and down, with rows in the tables ---------------------------------

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
TODAY = date(2026, 3, 1)


def _insert(conn: Connection, table: str, *rows: dict[str, Any]) -> None:
    """Rows through the table as the database has it at this revision, not as the models say."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    for row in rows:
        conn.execute(reflected.insert().values(**row))


def seed_0001(conn: Connection) -> None:
    _insert(
        conn,
        "checkpoints",
        {
            "id": 1,
            "code": "CP-1",
            "name": "G60 卡口",
            "district": "310117",
            "is_active": True,
            "created_at": NOW,
        },
    )
    _insert(conn, "departments", {"id": 1, "code": "economy", "scope": "310115"})
    _insert(
        conn,
        "enterprises",
        {
            "id": 1,
            "uscc": "91310115MA1H7X2Q33",
            "name": "上海浦江物流有限公司",
            "district": "310115",
            "address": "浦东新区张江路100号",
            "contact_name": "陈建国",
            "contact_phone": "13916001234",
            "email": "ops@example.com",
            "created_at": NOW,
        },
    )
    user = {
        "password_hash": "x",
        "is_active": True,
        "must_change_password": False,
        "created_at": NOW,
    }
    _insert(
        conn,
        "users",
        {
            **user,
            "id": 1,
            "email": "ent@example.com",
            "name": "企业",
            "role": "enterprise",
            "enterprise_id": 1,
            "session_nonce": "a" * 32,
        },
        {
            **user,
            "id": 2,
            "email": "appr@example.com",
            "name": "审批",
            "role": "approver",
            "department_id": 1,
            "session_nonce": "b" * 32,
        },
        {
            **user,
            "id": 3,
            "email": "cp@example.com",
            "name": "卡口",
            "role": "checkpoint",
            "checkpoint_id": 1,
            "session_nonce": "c" * 32,
        },
        {
            **user,
            "id": 4,
            "email": "admin@example.com",
            "name": "管理",
            "role": "admin",
            "session_nonce": "d" * 32,
        },
    )
    _insert(
        conn,
        "api_tokens",
        {
            "id": 1,
            "user_id": 1,
            "name": "erp",
            "token_hash": "f" * 64,
            "prefix": "pmt_abcd",
            "created_at": NOW,
        },
    )


def seed_0002(conn: Connection) -> None:
    _insert(
        conn,
        "audit_events",
        {
            "id": 1,
            "seq": 1,
            "created_at": NOW,
            "actor": "admin@example.com",
            "actor_id": 4,
            "action": "user.create",
            "details": {"role": "enterprise"},
            "prev_hash": "0" * 64,
            "hash": "1" * 64,
        },
    )
    _insert(conn, "audit_head", {"id": 1, "seq": 1, "hash": "1" * 64})
    _insert(
        conn,
        "workflows",
        {"id": 1, "kind": "vehicle_pass", "version": 1, "is_current": True, "created_at": NOW},
    )
    _insert(
        conn,
        "workflow_steps",
        {
            "id": 1,
            "workflow_id": 1,
            "position": 1,
            "department_code": "economy",
            "scope_rule": "district",
            "sla_hours": 24,
        },
        {
            "id": 2,
            "workflow_id": 1,
            "position": 2,
            "department_code": "transport",
            "scope_rule": "city",
            "sla_hours": 24,
        },
    )
    application = {
        "kind": "vehicle_pass",
        "enterprise_id": 1,
        "created_by_id": 1,
        "district": "310115",
        "contact_name": "陈建国",
        "contact_phone": "13916001234",
        "plate": "沪A12345",
        "vehicle_type": "van",
        "origin": "310115",
        "destination": "320583",
        "cargo_category": "medical",
        "valid_from": TODAY,
        "valid_until": date(2026, 3, 14),
        "created_at": NOW,
        "updated_at": NOW,
    }
    _insert(
        conn,
        "applications",
        {
            **application,
            "id": 1,
            "status": "in_review",
            "round": 1,
            "workflow_id": 1,
            "current_step": 1,
            "current_department_code": "economy",
            "current_scope": "310115",
            "step_entered_at": NOW,
            "step_due_at": NOW,
            "submitted_at": NOW,
        },
        {
            **application,
            "id": 2,
            "status": "approved",
            "round": 1,
            "workflow_id": 1,
            "submitted_at": NOW,
            "closed_at": NOW,
        },
    )
    _insert(
        conn,
        "attachments",
        {
            "id": 1,
            "application_id": 1,
            "purpose": "prevention_plan",
            "filename": "plan.pdf",
            "content_type": "application/pdf",
            "size": 42,
            "sha256": "2" * 64,
            "storage_key": "3" * 32,
            "uploaded_by_id": 1,
            "created_at": NOW,
        },
    )
    _insert(
        conn,
        "decisions",
        {
            "id": 1,
            "application_id": 1,
            "round": 1,
            "step": 0,
            "action": "submit",
            "actor_id": 1,
            "comment": "",
            "created_at": NOW,
        },
        {
            "id": 2,
            "application_id": 2,
            "round": 1,
            "step": 1,
            "action": "approve",
            "actor_id": 2,
            "department_id": 1,
            "comment": "同意",
            "created_at": NOW,
        },
    )
    _insert(
        conn,
        "drivers",
        {
            "id": 1,
            "application_id": 1,
            "position": 1,
            "name": "王师傅",
            "id_number": "310115198001011237",
            "phone": "13900001111",
        },
        {
            "id": 2,
            "application_id": 2,
            "position": 1,
            "name": "李师傅",
            "id_number": "310115198001011237",
            "phone": "13900002222",
        },
    )
    _insert(
        conn,
        "notifications",
        {
            "id": 1,
            "user_id": 1,
            "application_id": 2,
            "event": "approved",
            "params": {},
            "created_at": NOW,
        },
    )


def seed_0003(conn: Connection) -> None:
    _insert(conn, "counters", {"name": "pass:310115", "value": 1})
    _insert(
        conn,
        "passes",
        {
            "id": 1,
            "application_id": 2,
            "number": "310115000001",
            "district": "310115",
            "serial": 1,
            "control_code": "7K3MQ9XJ",
            "kind": "vehicle_pass",
            "enterprise_id": 1,
            "plate": "沪A12345",
            "valid_from": TODAY,
            "valid_until": date(2026, 3, 14),
            "not_before": NOW,
            "expires_at": NOW,
            "status": "active",
            "kid": "0123456789abcdef",
            "token": "PP1:NCF",
            "issued_at": NOW,
        },
    )


def seed_0004(conn: Connection) -> None:
    _insert(
        conn,
        "scan_events",
        {
            "id": 1,
            "checkpoint_id": 1,
            "pass_id": 1,
            "user_id": 3,
            "scanned_at": NOW,
            "result": "valid",
            "method": "qr",
            "is_offline": False,
        },
    )


def seed_0005(conn: Connection) -> None:
    conn.execute(
        sa.text(
            "UPDATE enterprises SET suspended_at = :at, suspended_reason = 'audit', "
            "suspended_by_id = 4 WHERE id = 1"
        ),
        {"at": NOW},
    )
    conn.execute(sa.text("UPDATE applications SET escalation_level = 2 WHERE id = 1"))
    _insert(
        conn,
        "mass_revocations",
        {
            "id": 1,
            "status": "pending",
            "reason": "疫情形势变化",
            "preview_count": 1,
            "requested_by_id": 4,
            "requested_at": NOW,
            "district": "310115",
        },
    )


def seed_0006(conn: Connection) -> None:
    """Indexes only: the rows already there must simply stay."""


def seed_0007(conn: Connection) -> None:
    _insert(
        conn,
        "application_batches",
        {
            "id": 1,
            "enterprise_id": 1,
            "created_by_id": 1,
            "source": "upload",
            "filename": "车队.xlsx",
            "created_at": NOW,
        },
    )
    conn.execute(sa.text("UPDATE applications SET batch_id = 1 WHERE id = 1"))


def seed_0008(conn: Connection) -> None:
    _insert(
        conn,
        "supervision_snapshots",
        {
            "id": 1,
            "figures": {"version": 1},
            "computed_at": NOW,
            "refreshing_since": None,
        },
    )


def seed_0009(conn: Connection) -> None:
    """Constraints only: the scans already there (0004's) must simply stay."""


def seed_0010(conn: Connection) -> None:
    """0007's batch came from a spreadsheet: it names its upload now."""
    conn.execute(
        sa.text(
            "UPDATE application_batches SET upload_key = '0123456789abcdef0123456789abcdef'"
            " WHERE id = 1"
        )
    )


def seed_0011(conn: Connection) -> None:
    """An admin whose password another admin set (the two-person rule remembers who), and the
    failed log-ins of an account."""
    conn.execute(
        sa.text("UPDATE users SET handed_over_at = :now, handed_over_by_id = 1 WHERE id = 1"),
        {"now": NOW},
    )
    _insert(
        conn,
        "login_failures",
        {"key": "0" * 64, "failures": 3, "window_started_at": NOW, "is_owner_told": False},
    )


def seed_0012(conn: Connection) -> None:
    """A demand ticket routed by the first routing version, copied to a department, with its
    history, a file and a notification about it."""
    _insert(conn, "demand_routings", {"id": 1, "version": 1, "is_current": True, "created_at": NOW})
    _insert(
        conn,
        "demand_routes",
        {"id": 1, "routing_id": 1, "category": "staff_return", "department_code": "economy"},
    )
    _insert(
        conn,
        "demands",
        {
            "id": 1,
            "enterprise_id": 1,
            "created_by_id": 1,
            "category": "staff_return",
            "title": "员工无法返岗",
            "description": "小区封控，12名员工无法到岗。",
            "district": "310115",
            "terms": ["小区", "封控", "员工", "返岗"],
            "application_id": 1,
            "status": "accepted",
            "revision": 1,
            "routing_id": 1,
            "department_code": "economy",
            "scope": "310115",
            "transfers": 0,
            "due_at": NOW,
            "due_from": NOW,
            "escalation_level": 0,
            "created_at": NOW,
            "updated_at": NOW,
            "accepted_at": NOW,
        },
    )
    _insert(
        conn,
        "demand_events",
        {
            "id": 1,
            "demand_id": 1,
            "action": "file",
            "actor_id": 1,
            "text": "",
            "details": {},
            "created_at": NOW,
        },
        {
            "id": 2,
            "demand_id": 1,
            "action": "accept",
            "actor_id": 2,
            "department_id": 1,
            "text": "",
            "details": {},
            "created_at": NOW,
        },
    )
    _insert(
        conn,
        "demand_copies",
        {"demand_id": 1, "department_id": 1, "added_by_id": 2, "created_at": NOW},
    )
    _insert(
        conn,
        "demand_files",
        {
            "id": 1,
            "demand_id": 1,
            "event_id": 1,
            "filename": "名单.pdf",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "2" * 64,
            "storage_key": "3" * 32,
            "uploaded_by_id": 1,
            "created_at": NOW,
        },
    )
    conn.execute(sa.text("UPDATE notifications SET demand_id = 1 WHERE id = 1"))


#: Each revision in order, with what it adds to a city that has been running on the one before.
REVISIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001", seed_0001),
    ("0002", seed_0002),
    ("0003", seed_0003),
    ("0004", seed_0004),
    ("0005", seed_0005),
    ("0006", seed_0006),
    ("0007", seed_0007),
    ("0008", seed_0008),
    ("0009", seed_0009),
    ("0010", seed_0010),
    ("0011", seed_0011),
    ("0012", seed_0012),
]


def test_every_migration_is_exercised_with_data() -> None:
    """A new migration needs its seed here, so that it is tried with rows in the tables."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - the config comes from the project folder

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert heads == [REVISIONS[-1][0]]


def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    with db.engine.connect() as conn:
        tables = sa.MetaData()
        tables.reflect(conn)
        return {
            name: [
                dict(row._mapping)
                for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for name, table in sorted(tables.tables.items())
            if name != "alembic_version"
        }


@pytest.fixture
def scratch_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own, empty, dropped afterwards (never the shared one)."""
    server = os.environ.get("PERMITS_TEST_DATABASE_URL")
    if not server:
        url = "sqlite:///" + str(tmp_path / "migrations.sqlite3")
        admin = None
    else:
        name = f"permits_migrations_{os.getpid()}_{secrets.token_hex(3)}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
    app = create_app(test_config(url))
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def test_each_migration_upgrades_and_downgrades_with_data_in_it(scratch_app: Flask) -> None:
    seen: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for revision, seed in REVISIONS:
        upgrade(revision=revision)
        with db.engine.begin() as conn:
            seed(conn)
        seen[revision] = everything()
    assert schema_differences() == []

    # Down one revision at a time: what the earlier revisions held is still there, unchanged.
    for (earlier, _seed), (revision, _) in reversed(list(itertools.pairwise(REVISIONS))):
        downgrade(revision=earlier)
        assert everything() == seen[earlier], f"downgrading {revision} changed the data"

    # Up again over the data that is there: each revision keeps it, and takes new rows.
    for revision, seed in REVISIONS[1:]:
        upgrade(revision=revision)
        with db.engine.begin() as conn:
            seed(conn)
        assert everything() == seen[revision], f"upgrading to {revision} changed the data"

    assert schema_differences() == []
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_0005_gives_rows_already_there_escalation_level_zero(scratch_app: Flask) -> None:
    for revision, seed in REVISIONS[: [r for r, _ in REVISIONS].index("0005")]:
        upgrade(revision=revision)
        with db.engine.begin() as conn:
            seed(conn)
    upgrade(revision="0005")
    rows = everything()
    assert [a["escalation_level"] for a in rows["applications"]] == [0, 0]
    assert [e["suspended_at"] for e in rows["enterprises"]] == [None]
    assert len(rows["attachments"]) == 1 and len(rows["drivers"]) == 2
