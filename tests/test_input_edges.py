"""Input at the edges: control characters, deep JSON, huge integers, bad redirect targets, the
database dying mid-verify and absurd token times each get a 4xx or a 503, never a 500."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from permits import fastpaths
from permits.extensions import db
from permits.models import Application, Enterprise, Role, utcnow
from permits.passes import token
from permits.services import issuance
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import PASSWORD, make_checkpoint, make_pass, make_uscc, make_user

HUGE = "99999999999999999999"


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# --- control characters -------------------------------------------------------------------


def test_a_nul_byte_in_a_json_field_is_refused_with_a_400_naming_the_field(app: Flask) -> None:
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    answer = api.post("/applications", {"kind": "work_resumption", "site_address": "1号\x00楼"})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["error"] == "bad_request" and "site_address" in body["fields"]
    nested = api.post(
        "/applications",
        {"kind": "vehicle_pass", "drivers": [{"name": "张\x00三", "id_number": "", "phone": ""}]},
    )
    assert nested.status_code == 400 and "drivers.0.name" in nested.get_json()["fields"]
    assert count(Application) == 0


def test_a_nul_byte_in_a_form_field_gets_a_400_page_and_stores_nothing(app: Flask) -> None:
    client = app.test_client()
    answer = form_post(
        client,
        "/register",
        {"name": "某\x00公司", "uscc": make_uscc(), "district": "310115"},
        page="/register",
    )
    assert answer.status_code == 400
    assert "控制字符" in answer.get_data(as_text=True)  # the message, in the default language
    assert count(Enterprise) == 0


def test_a_nul_byte_in_a_query_value_is_refused(app: Flask) -> None:
    admin = app.test_client()
    assert login(admin, make_user(Role.ADMIN).email, PASSWORD).status_code == 302
    assert admin.get("/admin/users?q=%00").status_code == 400
    assert admin.get("/admin/enterprises?q=a%00b").status_code == 400
    assert admin.get("/passes/%00").status_code == 400
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    answer = api.get("/applications?cursor=%00")
    assert answer.status_code == 400 and answer.get_json()["fields"] == {
        "cursor": answer.get_json()["message"]
    }


# --- JSON nested too deep -----------------------------------------------------------------


def test_json_nested_100000_deep_is_a_400(app: Flask) -> None:
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=make_checkpoint()))
    deep = "[" * 100_000 + "]" * 100_000
    answer = officer.client.post(
        "/api/v1/verify", data=deep, content_type="application/json", headers=officer.headers
    )
    assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"
    strings = '{"qr": "' + "[" * 1000 + '"}'  # brackets inside a string are text, not nesting
    fine = officer.client.post(
        "/api/v1/verify", data=strings, content_type="application/json", headers=officer.headers
    )
    assert fine.status_code == 200 and fine.get_json()["result"] == "wrong_prefix"


# --- integer query parameters -------------------------------------------------------------


def test_huge_integer_query_parameters_are_bounded(app: Flask) -> None:
    admin = app.test_client()
    assert login(admin, make_user(Role.ADMIN).email, PASSWORD).status_code == 302
    for path in (
        f"/admin/audit/?before={HUGE}",
        f"/admin/audit/?before=-{HUGE}",
        f"/admin/revocations/?before={HUGE}",
        f"/admin/users?page={HUGE}",
        f"/admin/enterprises?page={HUGE}",
        f"/admin/checkpoints?page={HUGE}",
        "/admin/audit/?before=١٢",  # Arabic-Indic digits: int() reads them, no column should
    ):
        assert admin.get(path).status_code == 200, path
    owner = make_user(Role.ENTERPRISE)
    make_pass(owner)
    browser = app.test_client()
    assert login(browser, owner.email, PASSWORD).status_code == 302
    assert browser.get(f"/applications/?before={HUGE}").status_code == 200


# --- redirect targets ---------------------------------------------------------------------


def test_a_line_break_in_next_falls_back_to_the_start_page(app: Flask) -> None:
    user = make_user()
    client = app.test_client()
    answer = login(client, user.email, PASSWORD, next="/a\nb")
    assert answer.status_code == 302 and answer.headers["Location"] in ("/", "http://localhost/")
    assert client.get("/login?next=/a%0Ab").status_code == 302  # logged in: straight on
    switched = form_post(client, "/language", {"locale": "en", "next": "/a\r\nSet-Cookie: x=1"})
    assert switched.status_code == 302 and "Set-Cookie" not in switched.headers["Location"]
    kept = form_post(client, "/language", {"locale": "zh", "next": "/applications/"})
    assert kept.headers["Location"].endswith("/applications/")


# --- the database dying during verify ------------------------------------------------------


class _DeadConnections:
    """The verifier's held connections at the instant the database dies: every read fails."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def get(self, engine: Any) -> Any:
        raise engine.dialect.loaded_dbapi.OperationalError("server closed the connection")

    def discard(self) -> None:
        pass


def test_the_database_dying_during_verify_answers_503_json(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = make_pass()
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=make_checkpoint()))
    monkeypatch.setattr(fastpaths, "held_connections", lambda: _DeadConnections(db.engine))
    answer = officer.post("/verify", {"qr": issued.token})
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "unavailable" and answer.headers["Retry-After"]


# --- absurd times in a validly signed token -------------------------------------------------


@pytest.mark.parametrize("field", ["expires", "not_before", "issued_at"])
def test_a_token_signed_by_our_key_with_an_absurd_time_is_malformed_or_expired(
    app: Flask, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = make_pass()
    key = issuance.key_store().signer_for(issued.expires_at, utcnow())
    claims = token.PassClaims(
        issuer=issuance.issuer(),
        issued_at=int(utcnow().timestamp()),
        not_before=int(issued.not_before.timestamp()),
        expires=int(issued.expires_at.timestamp()),
        number=issued.number,
        control_code=issued.control_code,
        kind="VP",
        enterprise="x",
        uscc="x",
        plate=issued.plate,
    )
    with monkeypatch.context() as signing_anything:  # sign() itself refuses such claims
        signing_anything.setattr(token, "_claims_from", lambda cwt: None)
        absurd = dataclasses.replace(claims, **{field: 2**70})
        forged = token.sign(absurd, key.private_key, key.kid)
    officer = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=make_checkpoint()))
    answer = officer.post("/verify", {"qr": forged})
    assert answer.status_code == 200 and answer.get_json()["result"] == "malformed"
    public = {key.kid: key.private_key.public_key()}
    assert token.verify(forged, public, int(utcnow().timestamp())).result is token.Result.MALFORMED


def test_a_json_body_above_its_limit_is_refused_before_parsing(app: Flask) -> None:
    app.config["MAX_JSON_LENGTH"] = 1000
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    answer = api.post("/applications", {"kind": "work_resumption", "site_address": "x" * 2000})
    assert answer.status_code == 413 and answer.get_json()["error"] == "too_large"
    assert api.post("/applications", {"kind": "work_resumption"}).status_code == 201


def test_control_characters_in_utf16_json_are_found_too(app: Flask) -> None:
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    body = '{"kind": "work_resumption", "site_address": "a\x85b"}'.encode("utf-16")
    answer = api.client.post(
        "/api/v1/applications", data=body, content_type="application/json", headers=api.headers
    )
    assert answer.status_code == 400 and "site_address" in answer.get_json()["fields"]


def test_judging_the_depth_of_a_hostile_json_text_takes_linear_time() -> None:
    import time

    from permits.inputs import _too_deep

    # Every quote escaped: a string pattern that may fail from each quote rescans to the end.
    hostile = b"[" * 40 + b'x\\"' * 200_000
    started = time.perf_counter()
    assert _too_deep(hostile)
    assert time.perf_counter() - started < 2
    assert not _too_deep(b'{"a": "' + b"[" * 100 + b'", "b": [[["\\\\"]]]}')
