"""Typed text: single-line fields hold one line of visible characters; comments and reasons may
hold line breaks, nothing else invisible; a mail that cannot be sent never fails the request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from permits.extensions import db
from permits.models import Application, Checkpoint, Enterprise, Role, User
from permits.validators import text_problem, uscc_check_character
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_id_number,
    make_uscc,
    make_user,
    vehicle_fields,
)

ONE_LINE = "此项只能填写一行，请删除换行。"  # "Keep this on one line." in the default language
INVISIBLE = "请删除文本中的不可见字符（例如文字方向控制符、零宽空格）。"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "ABC\u202eDEF" shows as "ABCFED"


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def field_error(page: str, field: str) -> str | None:
    """The error message shown next to a field (the element aria-describedby points to)."""
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return found.group(1).strip() if found else None


@pytest.mark.parametrize(
    ("value", "single", "multi"),
    [
        ("上海浦江冷链物流有限公司", None, None),
        ("第一行\n第二行", "line_break", None),
        ("a\r\nb", "line_break", None),
        ("tab\there", "line_break", None),
        ("a\u2028b", "line_break", None),
        ("NUL\x00", "control", "control"),
        ("bell\x07", "control", "control"),
        ("next line\x85", "control", "control"),
        (f"沪A{RLO}12345", "invisible", "invisible"),
        ("isolate\u2067x\u2069", "invisible", "invisible"),
        ("zero\u200bwidth", "invisible", "invisible"),
        ("joiner\u200d", "invisible", "invisible"),
        ("bom\ufeff", "invisible", "invisible"),
        ("word\u2060joiner", "invisible", "invisible"),
    ],
)
def test_the_one_text_rule(value: str, single: str | None, multi: str | None) -> None:
    assert text_problem(value) == single
    assert text_problem(value, multiline=True) == multi


def test_registration_refuses_a_line_break_in_the_name_next_to_the_field(app: Flask) -> None:
    uscc = "91310115MA1K3P7Q8" + uscc_check_character("91310115MA1K3P7Q8")
    data = {
        "name": "上海浦江\n冷链物流有限公司",
        "uscc": uscc,
        "district": "310115",
        "address": f"浦东新区{RLO}航头镇",
        "contact_name": "陈建国",
        "contact_phone": "13916001234",
        "email": "chen@pujiang.example.com",
        "password": "cold-chain-route-88",
        "password_again": "cold-chain-route-88",
    }
    answer = form_post(app.test_client(), "/register", data, page="/register")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert field_error(page, "name") == ONE_LINE
    assert field_error(page, "address") == INVISIBLE
    assert "冷链物流有限公司" in page  # what was typed is kept
    assert count(Enterprise) == 0 and count(User) == 0


def test_the_cli_refuses_an_enterprise_name_with_a_line_break(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["enterprises", "create", make_uscc(), "--name", "A\nB", "--district", "310115"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert count(Enterprise) == 0


def test_admin_forms_refuse_hidden_characters_in_names(app: Flask) -> None:
    admin = app.test_client()
    assert login(admin, make_user(Role.ADMIN).email, PASSWORD).status_code == 302
    checkpoint = form_post(
        admin, "/admin/checkpoints/new", {"code": "G15-1", "name": "卡口\n一", "district": "310115"}
    )
    assert checkpoint.status_code == 422
    assert field_error(checkpoint.get_data(as_text=True), "name") == ONE_LINE
    user = form_post(
        admin,
        "/admin/users/new",
        {"email": "x@example.com", "name": f"王{RLO}芳", "role": "supervisor"},
    )
    assert user.status_code == 422
    assert field_error(user.get_data(as_text=True), "name") == INVISIBLE
    assert count(Checkpoint) == 0 and count(User) == 1


def test_the_api_refuses_line_breaks_and_overrides_in_single_line_fields(app: Flask) -> None:
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    answer = api.post("/applications", {"kind": "work_resumption", "site_address": "1号\n2号"})
    assert answer.status_code == 422 and answer.get_json()["fields"]["site_address"] == ONE_LINE
    drivers = [{"name": f"张{RLO}三", "id_number": make_id_number(), "phone": "13812345678"}]
    answer = api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields(drivers=drivers)})
    assert answer.status_code == 422
    assert answer.get_json()["fields"]["drivers.0.name"] == INVISIBLE
    plate = api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields(plate=f"沪A1{RLO}2345")}
    )
    assert plate.status_code == 422 and "plate" in plate.get_json()["fields"]
    assert count(Application) == 0


def test_a_comment_may_hold_line_breaks_but_no_override(app: Flask) -> None:
    application = make_application(submit=True)
    approver = Api(app.test_client(), make_approver("commerce", "310115"))
    path = f"/applications/{application.id}/decisions"
    hidden = approver.post(path, {"decision": "return", "comment": f"请补充{RLO}材料"})
    assert hidden.status_code == 422 and hidden.get_json()["fields"]["comment"] == INVISIBLE
    kept = approver.post(path, {"decision": "return", "comment": "请补充：\n1. 防疫方案\n2. 名单"})
    assert kept.status_code == 201


# --- a mail that cannot be built or sent ---------------------------------------------------


def bad_name_enterprise() -> Enterprise:
    """An enterprise stored before names were checked: straight into the table."""
    uscc = make_uscc()
    db.session.execute(insert(Enterprise).values(uscc=uscc, name="坏名字\n公司", district="310115"))
    db.session.commit()
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    assert enterprise is not None
    return enterprise


def test_suspending_and_lifting_an_enterprise_with_a_line_break_in_its_name_succeed_with_mail(
    app: Flask,
) -> None:
    from tests.smtp_server import smtp_server

    enterprise = bad_name_enterprise()
    staff = make_user(Role.ENTERPRISE, enterprise=enterprise)
    admin = app.test_client()
    assert login(admin, make_user(Role.ADMIN).email, PASSWORD).status_code == 302
    with smtp_server() as (port, received):
        app.config.update(TESTING=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        app.config.update(MAIL_USE_TLS=False)
        try:
            suspended = form_post(
                admin, f"/admin/enterprises/{enterprise.id}/suspend", {"reason": "核查中"}
            )
            assert suspended.status_code == 302
            db.session.refresh(enterprise)
            assert enterprise.is_suspended
            lifted = form_post(admin, f"/admin/enterprises/{enterprise.id}/lift", {})
            assert lifted.status_code == 302
        finally:
            app.config["TESTING"] = True
    db.session.refresh(enterprise)
    assert not enterprise.is_suspended
    assert [m["To"] for m in received] == [staff.email, staff.email]
    assert all("\n" not in m["Subject"] and "坏名字 公司" in m["Subject"] for m in received)


def test_a_mail_the_server_refuses_is_logged_without_personal_data(
    app: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtplib

    from permits import mail

    def refuse(self: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})

    monkeypatch.setattr(smtplib.SMTP, "send_message", refuse)
    from tests.smtp_server import smtp_server

    with smtp_server() as (port, _received):
        app.config.update(TESTING=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        app.config.update(MAIL_USE_TLS=False)
        try:
            mail.deliver([mail.Mail(to="chen@pujiang.example.com", subject="s", body="b")])
        finally:
            app.config["TESTING"] = True
    assert "SMTPRecipientsRefused" in caplog.text
    assert "chen@" not in caplog.text
