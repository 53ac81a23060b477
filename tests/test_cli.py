"""The `flask` commands of DESIGN.md: they do what they say, or exit non-zero with one line."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Checkpoint, Department, Enterprise, Role, User
from permits.services.demo import DEMO_PASSWORD
from permits.validators import uscc_check_character
from tests.conftest import login
from tests.factories import make_checkpoint, make_enterprise, make_uscc

USCC = "91310104MA1FR2KX5" + uscc_check_character("91310104MA1FR2KX5")


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def assert_refused(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines, "no reason given"
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_enterprises_create(app: Flask) -> None:
    result = run(
        app,
        "enterprises",
        "create",
        USCC,
        "--name",
        "上海康安医疗器械有限公司",
        "--district",
        "310104",
    )
    assert result.exit_code == 0, result.output
    enterprise = db.session.scalar(select(Enterprise))
    assert enterprise.uscc == USCC and enterprise.district == "310104"


def test_enterprises_create_refuses_a_bad_check_character(app: Flask) -> None:
    bad = USCC[:17] + ("0" if USCC[17] != "0" else "1")
    result = run(app, "enterprises", "create", bad, "--name", "X", "--district", "310104")
    assert_refused(result, "uscc")
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_enterprises_create_refuses_an_unknown_district_and_a_duplicate(app: Flask) -> None:
    assert_refused(
        run(app, "enterprises", "create", USCC, "--name", "X", "--district", "999999"), "district"
    )
    make_enterprise(uscc=USCC, district="310104")
    assert_refused(
        run(app, "enterprises", "create", USCC, "--name", "X", "--district", "310104"),
        "registered already",
    )


def test_checkpoints_create(app: Flask) -> None:
    result = run(
        app,
        "checkpoints",
        "create",
        "JD-G2",
        "--name",
        "G2安亭",
        "--district",
        "310114",
        "--lat",
        "31.29",
        "--lon",
        "121.15",
    )
    assert result.exit_code == 0, result.output
    checkpoint = db.session.scalar(select(Checkpoint))
    assert (checkpoint.code, checkpoint.latitude) == ("JD-G2", 31.29)
    assert_refused(
        run(app, "checkpoints", "create", "JD-G2", "--name", "again", "--district", "310114"),
        "exists already",
    )


def test_users_create_for_each_role(app: Flask) -> None:
    make_enterprise(uscc=USCC, district="310104")
    make_checkpoint(code="JD-G2")
    pw = "granite-orchard-55"
    for args in (
        ("a@example.com", "--role", "enterprise", "--enterprise", USCC),
        ("b@example.com", "--role", "approver", "--department", "economy", "--scope", "310104"),
        ("c@example.com", "--role", "approver", "--department", "transport", "--scope", "city"),
        ("d@example.com", "--role", "checkpoint", "--checkpoint", "JD-G2"),
        ("e@example.com", "--role", "admin"),
        ("f@example.com", "--role", "handler", "--department", "health", "--scope", "310104"),
    ):
        result = run(app, "users", "create", *args, "--password", pw)
        assert result.exit_code == 0, result.output
    roles = dict(db.session.execute(select(User.email, User.role)).all())
    assert roles["b@example.com"] is Role.APPROVER and roles["e@example.com"] is Role.ADMIN
    scopes = set(db.session.execute(select(Department.code, Department.scope)).all())
    assert scopes == {("economy", "310104"), ("transport", "city"), ("health", "310104")}
    handler = db.session.scalar(select(User).where(User.email == "f@example.com"))
    assert handler is not None and handler.role is Role.HANDLER
    assert handler.department is not None and handler.department.code == "health"
    refused = run(app, "users", "create", "g@example.com", "--role", "handler", "--password", pw)
    assert refused.exit_code != 0 and "--department and --scope" in refused.output


def test_users_create_refuses_bad_input_with_one_line(app: Flask) -> None:
    pw = "granite-orchard-55"
    assert_refused(
        run(
            app,
            "users",
            "create",
            "a@example.com",
            "--role",
            "enterprise",
            "--enterprise",
            make_uscc(),
            "--password",
            pw,
        ),
        "No enterprise",
    )
    assert_refused(
        run(
            app,
            "users",
            "create",
            "a@example.com",
            "--role",
            "checkpoint",
            "--checkpoint",
            "NOPE",
            "--password",
            pw,
        ),
        "No checkpoint",
    )
    assert_refused(
        run(
            app,
            "users",
            "create",
            "a@example.com",
            "--role",
            "approver",
            "--department",
            "police",
            "--scope",
            "city",
            "--password",
            pw,
        ),
        "department",
    )
    assert_refused(
        run(
            app,
            "users",
            "create",
            "a@example.com",
            "--role",
            "approver",
            "--department",
            "economy",
            "--scope",
            "123456",
            "--password",
            pw,
        ),
        "scope",
    )
    assert_refused(
        run(app, "users", "create", "a@example.com", "--role", "admin", "--password", "password1"),
        "password",
    )
    assert_refused(
        run(app, "users", "create", "not-an-email", "--role", "admin", "--password", pw), "email"
    )
    assert_refused(run(app, "users", "create", "a@example.com", "--role", "king", "--password", pw))
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0


def test_users_token_prints_a_working_token_as_the_last_line(app: Flask) -> None:
    assert (
        run(
            app,
            "users",
            "create",
            "ops@example.com",
            "--role",
            "admin",
            "--password",
            "granite-orchard-55",
        ).exit_code
        == 0
    )
    result = run(app, "users", "token", "ops@example.com")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["email"] == "ops@example.com"
    assert_refused(run(app, "users", "token", "nobody@example.com"), "No user")


def test_demo_is_idempotent_and_its_logins_work(app: Flask) -> None:
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    counts = db.session.scalar(select(func.count()).select_from(User))
    again = run(app, "demo", "--url", "http://127.0.0.1:8123")  # make run PORT=8123
    assert again.exit_code == 0 and "Log in at http://127.0.0.1:8123 with:" in again.output
    assert "Log in at http://127.0.0.1:5000 with:" in first.output
    assert db.session.scalar(select(func.count()).select_from(User)) == counts
    districts = db.session.scalars(select(Department.scope).where(Department.code == "economy"))
    assert len(set(districts) - {"city"}) == 16

    emails = [
        line.split()[1]
        for line in first.output.splitlines()
        if "@" in line and line.strip().split()[0] in {r.value for r in Role}
    ]
    assert {line.split("@")[0] for line in emails} >= {"admin", "supervisor"}
    for email in emails:
        client = app.test_client()
        assert login(client, email, DEMO_PASSWORD).status_code == 302, email
        role = client.get("/api/v1/me").get_json()["role"]
        assert role == db.session.scalar(select(User.role).where(User.email == email)).value
