"""Notifications: in the app always, by email only after the change is committed."""

from __future__ import annotations

from flask import Flask

from permits.extensions import db
from permits.mail import outbox
from permits.models import Role, utcnow
from permits.services import applications, reviews
from tests.conftest import login
from tests.factories import PASSWORD, make_application, make_approver, make_user


def test_the_applicant_reads_each_decision_in_the_app(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    application = make_application(applicant, submit=True)
    reviews.decide(
        make_approver("commerce", "310115"),
        application,
        "return",
        comment="请补充冷链检测报告",
        now=utcnow(),
    )
    db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login(client, applicant.email, PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert 'class="count"' in home  # unread badge in the header
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert "请补充冷链检测报告" in inbox


def test_no_mail_leaves_before_the_commit_and_none_after_a_rollback(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    make_approver("commerce", "310115")
    application = make_application(applicant)
    before = len(outbox(app))
    applications.submit(applicant, application, now=utcnow())
    assert len(outbox(app)) == before  # queued, not sent
    db.session.rollback()
    assert len(outbox(app)) == before
    application = db.session.merge(application)
    applications.submit(applicant, application, now=utcnow())
    db.session.commit()
    sent = outbox(app)[before:]
    assert {m.to for m in sent} >= {applicant.email}
    assert len(sent) == 2  # the applicant, and the one approver of step 1


def test_mail_is_written_in_the_recipients_language(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    applicant.locale = "en"
    db.session.commit()
    application = make_application(applicant, submit=True)
    reviews.decide(
        make_approver("commerce", "310115"),
        application,
        "reject",
        comment="not key supply",
        reason_code="not_key_supply",
        now=utcnow(),
    )
    db.session.commit()
    mine = [m for m in outbox(app) if m.to == applicant.email]
    assert "was rejected" in mine[-1].body


def test_mail_goes_out_through_smtp_when_configured(app: Flask) -> None:
    from tests.smtp_server import smtp_server

    applicant = make_user(Role.ENTERPRISE)
    application = make_application(applicant)
    with smtp_server() as (port, received):
        app.config.update(
            TESTING=False,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_USE_TLS=False,
            MAIL_SENDER="permits@city.example",
        )
        try:
            applications.submit(applicant, application, now=utcnow())
            db.session.commit()
        finally:
            app.config["TESTING"] = True
    assert [m["To"] for m in received] == [applicant.email]
    assert received[0]["From"] == "permits@city.example"
    assert f"#{application.id}" in received[0].get_content()
