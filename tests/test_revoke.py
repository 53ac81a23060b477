"""Revoking one pass: once, with a reason in words — also when nine people press at once."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import AuditEvent, Notification, Pass, PassStatus, Role
from tests.api_helpers import Api
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_approver, make_pass, make_user
from tests.test_conflict_races import together

REVOKERS = 9


def count(model: Any, *conditions: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def test_nine_simultaneous_revocations_of_one_pass_revoke_it_once(app: Flask) -> None:
    """One 200; the others are told it is revoked already (409); one audit event, one notice to
    the enterprise, one place in the revocation feed. Run 3 times: PostgreSQL let two through."""
    for _round in range(3):
        issued = make_pass()
        url = f"/passes/{issued.number}/revoke"
        apis = [Api(app.test_client(), make_user(Role.ADMIN)) for _ in range(REVOKERS)]
        apis[0] = Api(app.test_client(), make_approver("commerce", "310115"))
        answers = together(
            [
                lambda api=api, n=n, url=url: api.post(url, {"reason": f"撤销理由{n}"})
                for n, api in enumerate(apis)
            ]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [409] * (REVOKERS - 1)
        assert count(AuditEvent, AuditEvent.action == "pass.revoke") == _round + 1
        assert (
            count(
                Notification,
                Notification.event == "revoked",
                Notification.application_id == issued.application_id,
            )
            == 1
        )
        revoked = db.session.get(Pass, issued.id)
        assert revoked is not None and revoked.status is PassStatus.REVOKED
        feed = app.test_client().get("/api/v1/revocations?since=0").get_json()
        assert feed["counter"] == _round + 1 and feed["revoked"].count(issued.number) == 1


@pytest.mark.parametrize("reason", [123, 1.5, True, {"text": "x"}, ["x"]])
def test_a_revoke_reason_that_is_not_text_is_a_400_naming_the_reason(
    app: Flask, reason: Any
) -> None:
    issued = make_pass()
    admin = Api(app.test_client(), make_user(Role.ADMIN))
    response = admin.post(f"/passes/{issued.number}/revoke", {"reason": reason})
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"reason"}
    assert count(Pass, Pass.status == PassStatus.REVOKED) == 0


@pytest.mark.parametrize("reason", [123, {"text": "x"}])
def test_the_revoke_form_sent_as_json_with_a_non_text_reason_is_refused_with_a_message(
    app: Flask, reason: Any
) -> None:
    """Flask-WTF reads a JSON body as the form: the reason arrives as a number or an object."""
    issued = make_pass()
    admin = make_user(Role.ADMIN)
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(browser, admin.email, PASSWORD)
    page = f"/passes/{issued.number}"
    token = csrf_token(browser, page)
    response = browser.post(
        f"{page}/revoke",
        json={"reason": reason, "csrf_token": token},
        headers={"X-CSRFToken": token},
    )
    # The pass page again, the message beside the reason (a refused form is never a redirect).
    assert response.status_code == 400
    assert "Give the reason for the revocation as text." in response.get_data(as_text=True)
    assert count(Pass, Pass.status == PassStatus.REVOKED) == 0
