"""API base: Bearer tokens, session calls with CSRF, JSON errors only, a complete OpenAPI document."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import ApiToken, Role, User, utcnow
from permits.services import accounts, api_tokens
from tests.conftest import csrf_token, form_post, login
from tests.factories import PASSWORD, make_user


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(user: User) -> str:
    _token, plain = api_tokens.issue_api_token(user, "dispatch system", now=utcnow())
    db.session.commit()
    return plain


def test_a_bearer_token_identifies_its_user(client: FlaskClient) -> None:
    user = make_user(Role.ENTERPRISE)
    response = client.get("/api/v1/me", headers=bearer(new_token(user)))
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == user.email
    assert body["role"] == "enterprise"
    assert body["enterprise"]["uscc"] == user.enterprise.uscc


def test_tokens_are_stored_only_as_hashes(client: FlaskClient) -> None:
    plain = new_token(make_user())
    stored = db.session.query(ApiToken).one()
    assert plain not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64


def test_token_use_is_noted_as_last_used(client: FlaskClient) -> None:
    plain = new_token(make_user())
    client.get("/api/v1/me", headers=bearer(plain))
    assert db.session.query(ApiToken).one().last_used_at is not None


def test_a_revoked_token_stops_working(client: FlaskClient) -> None:
    user = make_user()
    plain = new_token(user)
    api_tokens.revoke_api_token(db.session.query(ApiToken).one(), now=utcnow())
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(plain))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_deactivated_users_token_stops_working(client: FlaskClient) -> None:
    user = make_user()
    plain = new_token(user)
    accounts.deactivate_user(user, now=utcnow())
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(plain)).status_code == 401


def test_a_made_up_token_gets_a_json_401(client: FlaskClient) -> None:
    for header in ("Bearer pt_madeup", "Bearer ", "Bearer " + "x" * 5000, "Basic abc"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.is_json
        assert set(response.get_json()) == {"error", "message", "fields"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_not_rescued_by_a_session(client: FlaskClient) -> None:
    """A client that sends a wrong token is told so, even if it also holds a session."""
    user = make_user()
    login(client, user.email, PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=bearer("pt_wrong")).status_code == 401


def test_same_origin_session_calls_work_and_unsafe_ones_need_the_csrf_token(
    client: FlaskClient,
) -> None:
    user = make_user()
    login(client, user.email, PASSWORD)
    assert client.get("/api/v1/me").get_json()["email"] == user.email
    new_token(user)
    token_id = db.session.query(ApiToken).one().id
    refused = client.delete(f"/api/v1/tokens/{token_id}")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "bad_request"
    assert "CSRF" in refused.get_json()["message"]
    assert db.session.query(ApiToken).one().revoked_at is None
    allowed = client.delete(
        f"/api/v1/tokens/{token_id}", headers={"X-CSRFToken": csrf_token(client)}
    )
    assert allowed.status_code == 200
    assert db.session.query(ApiToken).one().revoked_at is not None


def test_token_callers_need_no_csrf_token_and_can_revoke_their_own(client: FlaskClient) -> None:
    plain = new_token(make_user())
    listed = client.get("/api/v1/tokens", headers=bearer(plain)).get_json()["tokens"]
    assert [t["name"] for t in listed] == ["dispatch system"]
    assert plain not in str(listed)
    response = client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(plain))
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(plain)).status_code == 401


def test_nobody_revokes_another_users_token_through_the_api(client: FlaskClient) -> None:
    owner_token = new_token(make_user())
    other_token = new_token(make_user())
    owner_id = client.get("/api/v1/tokens", headers=bearer(owner_token)).get_json()["tokens"][0][
        "id"
    ]
    response = client.delete(f"/api/v1/tokens/{owner_id}", headers=bearer(other_token))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(owner_token)).status_code == 200


def test_unknown_methods_get_a_json_405(client: FlaskClient) -> None:
    plain = new_token(make_user())
    response = client.post("/api/v1/me", headers=bearer(plain))
    assert response.status_code == 405
    assert response.is_json


def test_errors_under_api_are_json_never_html(client: FlaskClient) -> None:
    for path in ("/api/v1/nope", "/api/v1/me", "/api/v2/anything"):
        response = client.get(path)
        assert response.status_code in (401, 404)
        assert response.is_json, path
        assert "<html" not in response.get_data(as_text=True)


def test_openapi_document_is_public_and_describes_every_api_route(app: Flask) -> None:
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


def test_tokens_are_made_and_revoked_on_the_account_page(client: FlaskClient) -> None:
    user = make_user()
    login(client, user.email, PASSWORD)
    response = form_post(client, "/account/tokens", {"name": "dispatch"}, page="/account/")
    assert response.status_code == 201
    plain = re.search(r'id="new-token"[^>]*value="(pt_[^"]+)"', response.get_data(as_text=True))
    assert plain
    token = plain.group(1)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    # The page never shows it again.
    assert token not in client.get("/account/").get_data(as_text=True)

    token_id = db.session.query(ApiToken).one().id
    form_post(client, f"/account/tokens/{token_id}/revoke", {}, page="/account/")
    fresh = client.application.test_client()
    assert fresh.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_nobody_revokes_another_users_token(app: Flask) -> None:
    owner, other = make_user(), make_user()
    plain = new_token(owner)
    token_id = db.session.query(ApiToken).one().id
    client = app.test_client()
    login(client, other.email, PASSWORD)
    response = form_post(client, f"/account/tokens/{token_id}/revoke", {}, page="/account/")
    assert response.status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(plain)).status_code == 200


def test_a_token_call_neither_reads_nor_sets_the_session_cookie(client: FlaskClient) -> None:
    """A dispatch system is judged by its token alone: a cookie it happens to hold is not read
    (neither identity nor language comes from it) and none is sent back to it."""
    form_post(client, "/language", {"locale": "en"})  # this browser's session says English
    assert client.get("/api/v1/me").get_json()["message"] == "Please log in first."
    chinese = {"Accept-Language": "zh-CN"}
    refused = client.get("/api/v1/me", headers={**bearer("pt_wrong"), **chinese})
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "请先登录。"  # from the header, not the cookie
    assert "Set-Cookie" not in refused.headers
    user = make_user()
    answered = client.get("/api/v1/me", headers={**bearer(new_token(user)), **chinese})
    assert answered.status_code == 200 and answered.get_json()["email"] == user.email
    assert "Set-Cookie" not in answered.headers


def test_a_worker_remembers_a_bounded_number_of_verifying_tokens(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of distinct tokens on the verify route cannot grow a worker without bound: the
    oldest remembered owners go first, and a token that was let go still verifies (by query)."""
    monkeypatch.setattr(api_tokens, "API_TOKEN_CACHE_SIZE", 3)
    app.extensions.pop("permits.api_tokens", None)
    tokens = [new_token(make_user(Role.CHECKPOINT)) for _ in range(5)]
    for plain in tokens:
        answer = client.post("/api/v1/verify", json={"code": "0000000X"}, headers=bearer(plain))
        assert answer.status_code == 200
    remembered = app.extensions["permits.api_tokens"]
    assert len(remembered) == 3
    assert (
        client.post(
            "/api/v1/verify", json={"code": "0000000X"}, headers=bearer(tokens[0])
        ).status_code
        == 200
    )
