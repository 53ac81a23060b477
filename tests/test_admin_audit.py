"""The audit log viewer: filters, pages, and the chain check that finds an edited row."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from permits import audit
from permits.extensions import db
from permits.models import AuditEvent, Role, User
from tests.conftest import login
from tests.factories import PASSWORD, make_enterprise, make_user

AUDIT = "/admin/audit/"


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, user.email, PASSWORD)
    return client


def rows(page: str) -> int:
    return page.count('<tr id="event-')


def recorded(action: str, actor: User, **details: object) -> AuditEvent:
    event = audit.record(action, actor=actor, obj=actor, details=dict(details))
    db.session.commit()
    return event


def test_the_viewer_is_refused_to_everyone_but_admins_and_supervisors(app: Flask) -> None:
    for role in (Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT):
        assert browser(app, make_user(role)).get(AUDIT).status_code == 403, role
    anonymous = app.test_client().get(AUDIT)
    assert anonymous.status_code in (302, 401)
    assert browser(app, make_user(Role.SUPERVISOR)).get(AUDIT).status_code == 200
    assert browser(app, make_user(Role.ADMIN)).get(AUDIT).status_code == 200


def test_the_viewer_filters_by_actor_and_action(app: Flask) -> None:
    alice = make_user(Role.ADMIN, email="alice@city.example")
    bob = make_user(Role.ADMIN, email="bob@city.example")
    recorded("user.unlock", alice, reason="forgot")
    recorded("user.unlock", bob, reason="locked out")
    recorded("key.rotate", alice, kid="ab12")
    viewer = browser(app, make_user(Role.SUPERVISOR))

    by_alice = viewer.get(AUDIT, query_string={"actor": "ALICE@"}).get_data(as_text=True)
    assert rows(by_alice) == 2 and "bob@city.example</td>" not in by_alice
    assert "reason: forgot" in by_alice and "kid: ab12" in by_alice

    unlocks = viewer.get(AUDIT, query_string={"action": "user.unlock"}).get_data(as_text=True)
    assert rows(unlocks) == 2 and "kid: ab12" not in unlocks
    assert '<option value="key.rotate"' in unlocks  # the actions present are offered

    both = {"actor": "alice", "action": "user.unlock"}
    assert rows(viewer.get(AUDIT, query_string=both).get_data(as_text=True)) == 1
    nobody = viewer.get(AUDIT, query_string={"actor": "%"}).get_data(as_text=True)
    assert rows(nobody) == 0  # a wildcard is searched for as a character


def test_the_viewer_pages_newest_first(app: Flask) -> None:
    actor = make_user(Role.ADMIN)
    for n in range(55):
        recorded("test.event", actor, n=n)
    viewer = browser(app, actor)
    first = viewer.get(AUDIT, query_string={"action": "test.event"}).get_data(as_text=True)
    assert rows(first) == 50
    assert first.index("n: 54") < first.index("n: 53")
    assert "Older events" in first
    last_seq = db.session.scalar(
        select(AuditEvent.seq).where(AuditEvent.action == "test.event").order_by(AuditEvent.seq)
    )
    older = viewer.get(
        AUDIT, query_string={"action": "test.event", "before": last_seq + 5}
    ).get_data(as_text=True)
    assert rows(older) == 5 and "n: 0<" in older.replace("\n", "")


def test_the_chain_check_reports_intact_then_the_edited_row(app: Flask) -> None:
    admin = make_user(Role.ADMIN)
    make_enterprise()
    victim = recorded("user.deactivate", admin, reason="left the office")
    recorded("user.unlock", admin)
    viewer = browser(app, admin)
    assert "Check the chain" in viewer.get(AUDIT).get_data(as_text=True)
    intact = viewer.get(AUDIT, query_string={"check": "1"}).get_data(as_text=True)
    db.session.rollback()
    total = db.session.scalar(select(func.count(AuditEvent.id)))
    assert f"The chain is intact: {total} events." in intact

    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == victim.id).values(details={"reason": "none"})
    )
    db.session.commit()
    broken = viewer.get(AUDIT, query_string={"check": "1"}).get_data(as_text=True)
    assert f"The chain is broken at event {victim.seq}." in broken
    assert "changed after it was written" in broken
    assert "intact" not in broken
