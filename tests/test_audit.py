"""The audit chain: every state change is recorded; an edited or deleted row is found."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, select, text, update

from permits import audit
from permits.extensions import db
from permits.models import AuditEvent, Role
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
