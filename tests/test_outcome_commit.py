"""The outcome decides the commit (#16 item 4): a refusal rolls back everything the request
wrote, whatever the view answers (a flash and a redirect, the form again); an action that
succeeds is committed; a batch that reports a refusal for one item keeps the other items."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits import outcome
from permits.extensions import db
from permits.mail import outbox
from permits.models import Application, AuditEvent, Decision, Notification, Role, User, utcnow
from permits.services import accounts, applications, reviews
from permits.services.errors import Conflict, ValidationFailed
from permits.workflow import Action, State
from tests.conftest import form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_enterprise,
    make_user,
)
from tests.test_applications_web import vehicle_form
from tests.test_bulk_decisions import make_batch


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audited(action: str) -> int:
    return count(AuditEvent, AuditEvent.action == action)


def decided(application_id: int) -> list[Action]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Decision.action)
            .where(Decision.application_id == application_id, Decision.step.is_not(None))
            .order_by(Decision.id)
        )
    )


def refused_after_writing(real: Any, message: str = "Refused after writing.") -> Any:
    """The service as it is, then a refusal: everything it wrote is in the session already."""

    def refusing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        db.session.flush()
        raise Conflict(message)

    return refusing


def in_review(district: str = "310115") -> Application:
    owner = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=district))
    return make_application(owner, submit=True, origin=district)


def test_a_decision_refused_after_it_wrote_leaves_nothing_behind_its_flash_and_redirect(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = in_review()
    app_id = application.id
    make_approver("transport", "city")  # who would be told that step 2 waits for them
    officer = browser(app, make_approver("commerce", "310115"))
    notifications_before, sent_before = count(Notification), len(outbox(app))
    monkeypatch.setattr(reviews, "decide", refused_after_writing(reviews.decide))

    answer = form_post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "approve", "comment": "", "reason_code": "other"},
        page=f"/applications/{app_id}",
    )

    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/applications/{app_id}"
    assert "Refused after writing." in officer.get(f"/applications/{app_id}").get_data(True)
    assert decided(app_id) == []
    assert db.session.get(Application, app_id).status is State.IN_REVIEW
    assert db.session.get(Application, app_id).current_step == 1
    assert audited("application.approve") == 0
    assert count(Notification) == notifications_before
    assert len(outbox(app)) == sent_before


def test_a_decision_that_succeeds_is_committed(app: Flask) -> None:
    application = in_review()
    app_id = application.id
    make_approver("transport", "city")
    officer = browser(app, make_approver("commerce", "310115"))
    notifications_before, sent_before = count(Notification), len(outbox(app))

    answer = form_post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "approve", "comment": "", "reason_code": "other"},
        page=f"/applications/{app_id}",
    )

    assert answer.status_code == 302
    assert decided(app_id) == [Action.APPROVE]
    assert db.session.get(Application, app_id).current_step == 2
    assert audited("application.approve") == 1
    assert count(Notification) > notifications_before
    assert len(outbox(app)) > sent_before


def test_a_refused_decision_page_shows_the_application_as_stored(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form comes back (422) with the refusal by its field; the file beside it is as stored,
    not as the refused decision left it in memory."""
    application = in_review()
    app_id = application.id
    officer = browser(app, make_approver("commerce", "310115"))

    real = reviews.decide

    def rejected_then_refused(actor: User, target: Application, *args: Any, **kw: Any) -> Any:
        real(actor, target, "reject", comment="不符合", reason_code="other", now=utcnow())
        raise ValidationFailed("Some fields need your attention.", {"comment": "Say why."})

    monkeypatch.setattr(reviews, "decide", rejected_then_refused)

    answer = form_post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "approve", "comment": "", "reason_code": "other"},
        page=f"/applications/{app_id}",
    )

    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Say why." in page
    assert "不符合" not in page  # the refused rejection's comment is not on the timeline
    assert decided(app_id) == []
    assert db.session.get(Application, app_id).status is State.IN_REVIEW


def test_an_admin_action_refused_after_it_wrote_is_not_committed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = make_approver("commerce", "310115")
    officer_id = officer.id
    admin = browser(app, make_user(Role.ADMIN))
    monkeypatch.setattr(
        accounts, "deactivate_user", refused_after_writing(accounts.deactivate_user)
    )

    answer = form_post(
        admin, f"/admin/users/{officer_id}/deactivate", {}, page=f"/admin/users/{officer_id}"
    )

    assert answer.status_code == 302
    assert "Refused after writing." in admin.get(f"/admin/users/{officer_id}").get_data(True)
    db.session.expire_all()
    assert db.session.get(User, officer_id).is_active
    assert audited("user.deactivate") == 0
    assert login(app.test_client(), officer.email, PASSWORD).status_code == 302


def test_an_admin_action_that_succeeds_is_committed(app: Flask) -> None:
    officer = make_approver("commerce", "310115")
    officer_id = officer.id
    admin = browser(app, make_user(Role.ADMIN))

    answer = form_post(
        admin, f"/admin/users/{officer_id}/deactivate", {}, page=f"/admin/users/{officer_id}"
    )

    assert answer.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, officer_id).is_active
    assert audited("user.deactivate") == 1


def test_a_bulk_decision_with_one_item_refused_after_it_wrote_commits_the_others(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = make_batch(3)
    real = reviews.decide

    def second_refused_after_writing(
        actor: User, application: Application, *a: Any, **k: Any
    ) -> Any:
        decision = real(actor, application, *a, **k)
        if application.id == second:
            db.session.flush()
            raise Conflict("Refused after writing.")
        return decision

    monkeypatch.setattr(reviews, "decide", second_refused_after_writing)
    officer = browser(app, make_approver("commerce", "310115"))

    result = form_post(
        officer,
        "/review/decisions",
        {"ids": [str(first), str(second), str(third)], "decision": "approve", "next": "/review/"},
        page="/review/",
    )

    assert result.status_code == 200
    page = result.get_data(as_text=True)
    assert "2 of 3 applications decided." in page
    assert "Refused after writing." in page
    assert decided(first) == decided(third) == [Action.APPROVE]
    assert decided(second) == []
    assert db.session.get(Application, second).current_step == 1
    assert audited("application.approve") == 2


def test_a_bulk_decision_refused_as_a_whole_writes_nothing(app: Flask) -> None:
    """A wrong decision is the same for every item: the request is refused, not one item."""
    first, second = make_batch(2)
    officer = browser(app, make_approver("commerce", "310115"))

    result = form_post(
        officer,
        "/review/decisions",
        {"ids": [str(first), str(second)], "decision": "reject", "next": "/review/"},
        page="/review/",
    )

    assert result.status_code == 422
    assert decided(first) == decided(second) == []


def test_a_draft_whose_submission_is_refused_after_it_wrote_is_kept_as_a_draft(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Save and submit": a refused submission undoes itself alone; the draft is committed."""
    owner = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310115"))
    client = browser(app, owner)
    monkeypatch.setattr(applications, "submit", refused_after_writing(applications.submit))
    form = {**vehicle_form(), "submit": "1"}

    answer = form_post(
        client, "/applications/new/vehicle_pass", form, page="/applications/new/vehicle_pass"
    )

    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    assert "Draft saved, but not submitted yet:" in answer.get_data(as_text=True)
    db.session.expire_all()
    (saved,) = db.session.scalars(select(Application)).all()
    assert saved.status is State.DRAFT and saved.plate == form["plate"]
    assert saved.submitted_at is None and saved.round == 0
    assert audited("application.create") == 1
    assert audited("application.submit") == 0


def test_a_refusal_outside_a_request_is_for_its_caller_to_handle(app: Flask) -> None:
    """Services called from the CLI or a test record nothing: their caller commits or rolls back."""
    Conflict("not in a request")
    assert not outcome.is_refused()
    with app.test_request_context("/"):
        assert not outcome.is_refused()
        refusal = ValidationFailed("in a request")
        assert outcome.is_refused()
        outcome.answered_alone(refusal)
        assert not outcome.is_refused()
