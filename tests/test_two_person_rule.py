"""The two-person rule: one administrator never confirms their own request through another
admin account whose password they set (a reset or a creation), before or after asking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.mail import outbox
from permits.models import AuditEvent, MassRevocationStatus, Notification, PassStatus, Role, User
from tests.conftest import form_post, login
from tests.factories import make_pass, make_user
from tests.test_admin_revocations import LIST, ask, browser, status_of, the_only_mass_revocation
from tests.test_admin_users import shown_password

OWN_PASSWORD = "harbour-lantern-5531"


def reset_password(admin: FlaskClient, target: User) -> str:
    response = form_post(admin, f"/admin/users/{target.id}/reset-password", {})
    assert response.status_code == 200
    return shown_password(response.get_data(as_text=True))


def take_over(app: Flask, email: str, one_time: str) -> FlaskClient:
    """Logs in with a one-time password and sets a password of one's own, as the page asks."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(client, email, one_time).status_code == 302
    changed = form_post(
        client,
        "/account/password",
        {
            "current_password": one_time,
            "new_password": OWN_PASSWORD,
            "new_password_again": OWN_PASSWORD,
        },
        page="/account/",
    )
    assert changed.status_code == 302
    return client


def confirm(client: FlaskClient, mass_id: int) -> Any:
    return form_post(client, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)


def revocation_still_waits(number: str) -> bool:
    return (
        the_only_mass_revocation().status is MassRevocationStatus.PENDING
        and status_of(number) is PassStatus.ACTIVE
    )


def test_an_admin_cannot_confirm_their_request_by_resetting_another_admins_password(
    app: Flask,
) -> None:
    """The reported bypass: ask, reset the colleague's password, log in as them, confirm."""
    issued = make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    requester, colleague = make_user(Role.ADMIN), make_user(Role.ADMIN)
    admin = browser(app, requester)
    assert ask(admin, district="310115").status_code == 302
    mass_id = the_only_mass_revocation().id
    one_time = reset_password(admin, colleague)

    # On the one-time password, the account can do nothing but set its own.
    impostor = app.test_client()
    assert login(impostor, colleague.email, one_time).status_code == 302
    blocked = form_post(impostor, f"/admin/revocations/{mass_id}/confirm", {}, page="/account/")
    assert blocked.headers["Location"] == "/account/"
    assert revocation_still_waits(issued.number)

    # With a password of its own, still not: the reset came after the request.
    impostor = take_over(app, colleague.email, one_time)
    page = impostor.get(f"/admin/revocations/{mass_id}").get_data(as_text=True)
    assert f"/admin/revocations/{mass_id}/confirm" not in page
    assert "set by an administrator after this was asked for" in page
    refused = confirm(impostor, mass_id)
    assert refused.status_code == 302
    assert "set by an administrator after this was asked for" in impostor.get(
        refused.location
    ).get_data(as_text=True)
    assert revocation_still_waits(issued.number)


def test_a_reset_before_asking_does_not_make_a_second_person_either(app: Flask) -> None:
    """The same with the steps reordered: reset, take over, then ask and confirm."""
    issued = make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    requester, colleague = make_user(Role.ADMIN), make_user(Role.ADMIN)
    admin = browser(app, requester)
    impostor = take_over(app, colleague.email, reset_password(admin, colleague))
    assert ask(admin, district="310115").status_code == 302
    mass_id = the_only_mass_revocation().id
    page = impostor.get(f"/admin/revocations/{mass_id}").get_data(as_text=True)
    assert "The administrator who asked for this set your password" in page
    assert confirm(impostor, mass_id).status_code == 302
    assert revocation_still_waits(issued.number)


def test_an_admin_created_by_the_requester_is_not_their_second_person(app: Flask) -> None:
    issued = make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    admin = browser(app, make_user(Role.ADMIN))
    created = form_post(
        admin,
        "/admin/users/new",
        {"email": "helper@example.com", "name": "Helper", "role": "admin"},
        page="/admin/users/new",
    )
    assert created.status_code == 201
    impostor = take_over(app, "helper@example.com", shown_password(created.get_data(as_text=True)))
    assert ask(admin, district="310115").status_code == 302
    assert confirm(impostor, the_only_mass_revocation().id).status_code == 302
    assert revocation_still_waits(issued.number)


def test_a_colleague_with_their_own_password_still_confirms(app: Flask) -> None:
    """The rule refuses only the handed-over account: a third admin, or the same account once
    the handover period is over, confirms as before."""
    issued = make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    requester, helper, third = (make_user(Role.ADMIN) for _ in range(3))
    admin = browser(app, requester)
    take_over(app, helper.email, reset_password(admin, helper))
    assert ask(admin, district="310115").status_code == 302
    mass_id = the_only_mass_revocation().id

    handed_over = db.session.get(User, helper.id)
    assert handed_over is not None and handed_over.handed_over_by_id == requester.id
    handed_over.handed_over_at -= timedelta(days=app.config["ADMIN_HANDOVER_DAYS"] + 1)
    db.session.commit()
    helper_browser = app.test_client()
    assert login(helper_browser, helper.email, OWN_PASSWORD).status_code == 302
    page = helper_browser.get(f"/admin/revocations/{mass_id}").get_data(as_text=True)
    assert f"/admin/revocations/{mass_id}/confirm" in page

    assert confirm(browser(app, third), mass_id).status_code == 302
    assert the_only_mass_revocation().status is MassRevocationStatus.DONE
    assert status_of(issued.number) is PassStatus.REVOKED


def test_a_reset_by_someone_else_before_the_request_does_not_stop_a_confirmation(
    app: Flask,
) -> None:
    issued = make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    requester, colleague, helpdesk = (make_user(Role.ADMIN) for _ in range(3))
    colleague_browser = take_over(
        app, colleague.email, reset_password(browser(app, helpdesk), colleague)
    )
    assert ask(browser(app, requester), district="310115").status_code == 302
    assert confirm(colleague_browser, the_only_mass_revocation().id).status_code == 302
    assert status_of(issued.number) is PassStatus.REVOKED


def test_admin_creation_and_resets_tell_every_other_admin_and_are_audited(app: Flask) -> None:
    actor, other, colleague = (make_user(Role.ADMIN) for _ in range(3))
    officer = make_user(Role.APPROVER)
    admin = browser(app, actor)
    reset_password(admin, colleague)
    reset_password(admin, officer)  # not an admin: only its holder is told
    form_post(
        admin,
        "/admin/users/new",
        {"email": "new.admin@example.com", "role": "admin"},
        page="/admin/users/new",
    )
    told = db.session.execute(select(Notification.user_id, Notification.event)).all()
    new_admin = db.session.scalar(select(User.id).where(User.email == "new.admin@example.com"))
    assert sorted(told) == sorted(
        [
            (other.id, "admin_password_reset"),
            (colleague.id, "admin_password_reset"),
            (other.id, "admin_created"),
            (colleague.id, "admin_created"),
            (new_admin, "admin_created"),
            (officer.id, "password_reset"),
        ]
    )
    emailed = [m.to for m in outbox(app) if "重置了管理员账号" in m.body]
    assert sorted(emailed) == sorted([other.email, colleague.email])
    assert officer.email in [m.to for m in outbox(app)]
    inbox = browser(app, other).get("/notifications/").get_data(as_text=True)
    assert f"{actor.email} reset the password of the administrator account" in inbox
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.password_reset", "user.create"} <= actions
