"""Enterprise self-registration: every bad field gets its own message; one account per USCC."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Enterprise, Role, User
from permits.validators import uscc_check_character
from tests.conftest import form_post
from tests.factories import make_enterprise, make_uscc

GOOD_USCC = "91310115MA1K3P7Q8" + uscc_check_character("91310115MA1K3P7Q8")


def registration(**overrides: str) -> dict[str, Any]:
    data = {
        "name": "上海浦江冷链物流有限公司",
        "uscc": GOOD_USCC,
        "district": "310115",
        "address": "浦东新区航头镇沪南公路5678号",
        "contact_name": "陈建国",
        "contact_phone": "139 1600 1234",
        "email": "chen@pujiang.example.com",
        "password": "cold-chain-route-88",
        "password_again": "cold-chain-route-88",
    }
    data.update(overrides)
    return data


def register(client: FlaskClient, **overrides: str) -> Any:
    return form_post(client, "/register", registration(**overrides), page="/register")


def field_error(page: str, field: str) -> str | None:
    """The error message shown next to a field (the element that aria-describedby points to)."""
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return found.group(1).strip() if found else None


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Enterprise)) or 0,
        db.session.scalar(select(func.count()).select_from(User)) or 0,
    )


def test_registration_creates_the_enterprise_and_logs_its_user_in(client: FlaskClient) -> None:
    response = register(client)
    assert response.status_code == 302
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == GOOD_USCC))
    assert enterprise is not None
    assert enterprise.contact_phone == "13916001234"
    user = db.session.scalar(select(User).where(User.email == "chen@pujiang.example.com"))
    assert user is not None and user.role is Role.ENTERPRISE and user.enterprise_id == enterprise.id
    assert "上海浦江冷链物流有限公司" in client.get("/").get_data(as_text=True)


def test_lower_case_uscc_with_spaces_is_accepted_and_stored_normalised(client: FlaskClient) -> None:
    spaced = " ".join([GOOD_USCC[:6].lower(), GOOD_USCC[6:]])
    assert register(client, uscc=spaced).status_code == 302
    assert db.session.scalar(select(Enterprise.uscc)) == GOOD_USCC


def test_wrong_uscc_check_character_is_refused_at_that_field(client: FlaskClient) -> None:
    wrong = GOOD_USCC[:17] + ("0" if GOOD_USCC[17] != "0" else "1")
    response = register(client, uscc=wrong)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "uscc") is not None
    assert "营业执照" in field_error(page, "uscc")  # "check against your business licence"
    for other in ("name", "district", "contact_phone", "email", "password"):
        assert field_error(page, other) is None, other
    assert counts() == (0, 0)


def test_wrong_uscc_check_character_message_in_english(client: FlaskClient) -> None:
    wrong = GOOD_USCC[:17] + ("0" if GOOD_USCC[17] != "0" else "1")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    page = register(client, uscc=wrong).get_data(as_text=True)
    assert "does not match" in (field_error(page, "uscc") or "")


def test_each_bad_field_gets_its_own_message(client: FlaskClient) -> None:
    response = register(
        client,
        uscc="91310115MA1K3P7Q",
        district="110101",
        contact_phone="12345",
        email="not-an-email",
        password="qwertyuiop",
        password_again="qwertyuiop",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("uscc", "district", "contact_phone", "email", "password"):
        assert field_error(page, field), field
    assert field_error(page, "name") is None
    assert counts() == (0, 0)


def test_uscc_with_forbidden_letters_is_refused(client: FlaskClient) -> None:
    page = register(client, uscc="91310115MA1K3P7QOI").get_data(as_text=True)
    assert field_error(page, "uscc")


def test_common_and_short_passwords_are_refused(client: FlaskClient) -> None:
    page = register(client, password="woaini1314", password_again="woaini1314").get_data(
        as_text=True
    )
    assert field_error(page, "password")
    page = register(client, password="Ab1!x", password_again="Ab1!x").get_data(as_text=True)
    assert field_error(page, "password")
    assert counts() == (0, 0)


def test_mismatched_password_confirmation_is_refused(client: FlaskClient) -> None:
    page = register(client, password_again="something-else-77").get_data(as_text=True)
    assert field_error(page, "password_again")


def test_second_registration_of_the_same_uscc_is_refused_with_a_hint(client: FlaskClient) -> None:
    make_enterprise(uscc=GOOD_USCC)
    response = register(client, email="someone.else@example.com")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    message = field_error(page, "uscc") or ""
    assert "已注册" in message and "账号" in message  # registered already; ask the account holder
    assert counts() == (1, 0)


def test_an_email_can_hold_only_one_account(client: FlaskClient) -> None:
    assert register(client).status_code == 302
    form_post(client, "/logout", {})
    page = register(client, uscc=make_uscc("310104"), district="310104").get_data(as_text=True)
    assert field_error(page, "email")
    assert counts() == (1, 1)


def test_registration_form_labels_every_field(client: FlaskClient) -> None:
    page = client.get("/register").get_data(as_text=True)
    inputs = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', page)
    visible = [i for i in inputs if i not in ("csrf_token",)]
    assert {
        "name",
        "uscc",
        "district",
        "address",
        "contact_name",
        "contact_phone",
        "email",
        "password",
        "password_again",
    } <= set(visible)
    for field_id in visible:
        assert f'<label for="{field_id}"' in page, field_id


def test_district_list_holds_shanghais_sixteen_districts(client: FlaskClient) -> None:
    page = client.get("/register").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="district".*?</select>', page, re.S).group(0)
    codes = re.findall(r'value="(\d{6})"', select_html)
    assert len(codes) == 16
    assert "310115" in codes and "310151" in codes
    assert "浦东新区" in select_html
