"""The audit chain: every state change is recorded; an edited or deleted row is found."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update

from permits import audit
from permits.extensions import db
from permits.models import AuditEvent, Role, User
from tests.factories import make_application, make_approver, make_user


def events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def build_history() -> None:
    application = make_application(make_user(Role.ENTERPRISE), submit=True)
    from permits.models import utcnow
    from permits.services import reviews

    reviews.decide(
        make_approver("commerce", "310115"), application, "return", comment="请补充", now=utcnow()
    )
    db.session.commit()


def verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_state_changes_are_recorded_with_actor(app: Flask) -> None:
    build_history()
    recorded = {e.action: e for e in events()}
    assert {"application.create", "application.submit", "application.return"} <= set(recorded)
    assert recorded["application.return"].actor.endswith("@example.com")
    assert [e.seq for e in events()] == list(range(1, len(events()) + 1))
    assert verify(app) == (0, f"audit chain intact: {len(events())} events\n")


def test_an_edited_row_is_named(app: Flask) -> None:
    build_history()
    victim = events()[3]
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == victim.id).values(actor="nobody@example.com")
    )
    db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert f"event {victim.seq}" in output and "changed" in output


def test_a_deleted_row_is_found(app: Flask) -> None:
    build_history()
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and "event 2" in output


def test_deleting_the_newest_rows_is_found(app: Flask) -> None:
    build_history()
    last = events()[-1].seq
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"event {last}" in output


def test_a_rewritten_chain_with_fixed_hashes_still_breaks_at_the_next_row(app: Flask) -> None:
    """Recomputing one row's hash does not help: the next row points at the old hash."""
    build_history()
    victim = events()[2]
    victim.details = {"forged": True}
    fields = audit._hashed_fields(victim)
    victim.hash = audit._digest(fields)
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"event {victim.seq + 1}" in output


def test_login_is_recorded_with_the_address(app: Flask) -> None:
    from tests.conftest import login
    from tests.factories import PASSWORD

    user = make_user()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    login(client, user.email, PASSWORD)
    logins = [e for e in events() if e.action == "auth.login"]
    assert [(e.actor, e.ip) for e in logins] == [(user.email, "10.1.2.3")]
    assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_events_take_their_place_in_the_chain_at_commit_in_the_order_recorded(app: Flask) -> None:
    actor = make_user(Role.ADMIN)
    first = audit.record("test.first", actor=actor)
    second = audit.record("test.second", actor=actor)
    assert first.seq is None  # not chained yet: the head is not locked before the commit
    db.session.commit()
    assert first.seq is not None and second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert [e.action for e in events()][-2:] == ["test.first", "test.second"]
    assert audit.verify_chain() is None


def test_a_commit_chains_any_number_of_events_whatever_the_numbers_before(app: Flask) -> None:
    """The INSERT at COMMIT is made once per number of events: each size gives the same chain."""
    actor = make_user(Role.ADMIN)
    for count in (1, 3, 1, 40, 3):
        recorded = [audit.record(f"test.{count}.{i}", actor=actor) for i in range(count)]
        db.session.commit()
        assert [e.seq for e in recorded] == list(range(recorded[0].seq, recorded[0].seq + count))
        assert all(e.id is not None for e in recorded)
    assert [e.action for e in events()][-3:] == ["test.3.0", "test.3.1", "test.3.2"]
    assert audit.verify_chain() is None


def test_a_rolled_back_transaction_or_savepoint_leaves_no_event(app: Flask) -> None:
    actor = make_user(Role.ADMIN)
    audit.record("test.kept", actor=actor)
    db.session.commit()
    audit.record("test.rolled_back", actor=actor)
    db.session.rollback()
    audit.record("test.outer", actor=actor)
    with db.session.begin_nested():
        audit.record("test.released", actor=actor)
    try:
        with db.session.begin_nested():
            audit.record("test.in_failed_savepoint", actor=actor)
            raise RuntimeError
    except RuntimeError:
        pass
    db.session.commit()
    tests = [e.action for e in events() if e.action.startswith("test.")]
    assert tests == ["test.kept", "test.outer", "test.released"]
    assert [e.seq for e in events()] == list(range(1, len(events()) + 1))
    assert audit.verify_chain() is None


def test_a_query_on_the_trail_sees_the_events_of_its_own_transaction(app: Flask) -> None:
    admin = make_user(Role.ADMIN)
    audit.record("test.pending", actor=admin)
    assert [e.action for e in events()][-1] == "test.pending"
    db.session.rollback()
    assert "test.pending" not in [e.action for e in events()]


def test_reading_the_trail_in_a_savepoint_that_rolls_back_loses_no_outer_event(
    app: Flask,
) -> None:
    admin = make_user(Role.ADMIN)
    audit.record("test.outer", actor=admin)
    try:
        with db.session.begin_nested():
            events()
            raise RuntimeError
    except RuntimeError:
        pass
    db.session.commit()
    assert [e.action for e in events()][-1] == "test.outer"
    assert audit.verify_chain() is None


def test_concurrent_audited_transactions_leave_one_unbroken_chain(
    app: Flask, is_postgres: bool
) -> None:
    """Three transactions record before any commits (the head is not locked until COMMIT); two
    commit, one rolls back: the chain is whole, each transaction's events together and in order,
    and nothing of the rolled-back one."""
    if not is_postgres:
        pytest.skip("SQLite lets one writer at a time into a transaction (BEGIN IMMEDIATE)")
    actor_id = make_user(Role.ADMIN).id
    audit.record("test.genesis", actor=None)  # the head row exists before the race
    db.session.commit()
    recorded = threading.Barrier(3)

    def work(name: str) -> None:
        with app.app_context():
            actor = db.session.get(User, actor_id)
            audit.record(f"test.{name}.one", actor=actor)
            audit.record(f"test.{name}.two", actor=actor)
            recorded.wait(timeout=10)
            if name == "rolled_back":
                db.session.rollback()
            else:
                db.session.commit()

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(work, ["a", "b", "rolled_back"]))

    db.session.expire_all()
    chain = events()
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    actions = [e.action for e in chain[-4:]]
    assert chain[-5].action == "test.genesis"
    assert actions in (
        ["test.a.one", "test.a.two", "test.b.one", "test.b.two"],
        ["test.b.one", "test.b.two", "test.a.one", "test.a.two"],
    )
    assert audit.verify_chain() is None
