"""Deny by default: only an explicit list of endpoints answers anonymous visitors."""

from __future__ import annotations

import re

from flask import Flask

from permits.models import Role
from permits.permissions import roles_required
from tests.conftest import login
from tests.factories import PASSWORD, make_user

#: Every endpoint that may be reached without logging in. A new public route must be added here.
PUBLIC_ENDPOINTS = {
    "static",
    "main.home",
    "main.healthz",
    "main.livez",
    "auth.login",
    "auth.register",
    "auth.unlock",
    "auth.set_language",
    "api.openapi_json",
    "api.keys",
    "api.revocations",
    "passes.shared",
    "checkpoint.service_worker",
    "checkpoint.qr_worker",
    "checkpoint.manifest",
}


def sample_url(rule: str) -> str:
    url = rule.replace("<path:filename>", "css/app.css").replace("<kind>", "vehicle_pass")
    url = url.replace("<number>", "310115000001").replace("<signed>", "x")
    return re.sub(r"<int:[^>]+>", "1", url)


def test_only_the_listed_endpoints_are_public(app: Flask) -> None:
    public = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint == "static"
        or getattr(app.view_functions[rule.endpoint], "is_public", False)
    }
    assert public == PUBLIC_ENDPOINTS


def test_every_other_route_refuses_anonymous_visitors(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = sample_url(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (method, url)
                assert response.is_json
            elif method == "GET":
                assert response.status_code == 302, (method, url)
                assert response.headers["Location"].startswith("/login?next="), (method, url)
            else:
                # A POST without a session has no valid CSRF token either; never a 200.
                assert response.status_code in (302, 400), (method, url)
    assert checked >= 5


def test_role_decorator_refuses_other_roles(app: Flask) -> None:
    @app.get("/only-admins")
    @roles_required(Role.ADMIN)
    def only_admins() -> str:
        return "secret figures"

    client = app.test_client()
    enterprise_user = make_user(Role.ENTERPRISE)
    admin = make_user(Role.ADMIN)
    login(client, enterprise_user.email, PASSWORD)
    assert client.get("/only-admins").status_code == 403
    other = app.test_client()
    login(other, admin.email, PASSWORD)
    assert other.get("/only-admins").get_data(as_text=True) == "secret figures"


def test_a_user_with_a_one_time_password_must_change_it_first(app: Flask) -> None:
    user = make_user(must_change_password=True)
    client = app.test_client()
    login(client, user.email, PASSWORD)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert client.get("/api/v1/me").status_code == 403
    assert client.get("/account/").status_code == 200


def test_error_pages_are_friendly_html_outside_the_api(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_security_headers_are_set(app: Flask) -> None:
    response = app.test_client().get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cache-Control"] == "no-store"
