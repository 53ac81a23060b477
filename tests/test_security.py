"""Hardening a reviewer can read: headers, cookies, sessions, no writes on GET, no mass assignment."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import permits.login
from permits import create_app, devices
from permits.extensions import db
from permits.models import Application, Base, Role, utcnow
from permits.services import demands, verification
from permits.views.passes import share_link
from tests.api_helpers import Api
from tests.conftest import IsolatedClient, csrf_token, login, project_root, test_config
from tests.factories import (
    PASSWORD,
    make_application,
    make_checkpoint,
    make_enterprise,
    make_pass,
    make_user,
    vehicle_fields,
)


def policy(response: Any) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def logged_in(app: Flask, user: Any, **client_args: Any) -> FlaskClient:
    client = app.test_client(**client_args)
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


# --- Content-Security-Policy ---------------------------------------------------------------


def test_pages_run_only_the_sites_own_scripts_and_cannot_be_framed(client: FlaskClient) -> None:
    csp = policy(client.get("/login"))
    assert csp["script-src"][0] == "'self'" and csp["script-src"][1].startswith("'nonce-")
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert "unsafe-inline" not in client.get("/login").headers["Content-Security-Policy"]
    assert "unsafe-eval" not in client.get("/login").headers["Content-Security-Policy"]


def test_the_script_nonce_is_new_on_every_request(client: FlaskClient) -> None:
    nonces = {policy(client.get("/login"))["script-src"][1] for _ in range(3)}
    assert len(nonces) == 3


def test_no_template_has_an_inline_script_style_or_event_handler() -> None:
    """A strict policy blocks them; code goes to static/js, looks to app.css."""
    offending = []
    for template in (project_root() / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            is_data = 'type="application/json"' in tag
            if "src=" not in tag and not is_data and "csp_nonce()" not in tag:
                offending.append(f"{template.name}: {tag}")
        offending += [f"{template.name}: style=" for _ in re.findall(r"\sstyle=", text)]
        offending += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+=", text)]
    assert offending == []


def test_the_scanner_page_may_use_its_camera_worker_service_worker_and_api(app: Flask) -> None:
    staff = make_user(Role.CHECKPOINT, checkpoint=make_checkpoint())
    page = logged_in(app, staff).get("/checkpoint/")
    assert page.status_code == 200
    csp = policy(page)
    assert "'self'" in csp["worker-src"]  # jsQR's worker and the service worker
    assert {"mediastream:", "blob:"} <= set(csp["media-src"])  # the camera in a <video>
    assert {"data:", "blob:"} <= set(csp["img-src"])  # camera frames drawn as images
    assert csp["connect-src"] == ["'self'"] and csp["manifest-src"] == ["'self'"]
    html = page.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    with app.test_client().get("/checkpoint/sw.js") as worker:
        assert policy(worker)["connect-src"] == ["'self'"]  # its fetches obey its own policy


def test_json_answers_carry_a_policy_that_runs_nothing(client: FlaskClient) -> None:
    csp = policy(client.get("/api/v1/keys"))
    assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]


# --- other headers ---------------------------------------------------------------------------


def test_every_answer_forbids_sniffing_and_keeps_the_referrer_to_this_site(
    client: FlaskClient,
) -> None:
    for path in ("/login", "/api/v1/keys", "/static/css/app.css", "/nowhere"):
        with client.get(path) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            # Same-origin requests keep their Referer (Flask-WTF checks it over HTTPS); other
            # sites see at most the origin.
            assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_is_sent_only_when_served_over_https(migrated: str) -> None:
    plain = create_app(test_config(migrated)).test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    https = create_app(test_config(migrated, HTTPS=True))
    secure = https.test_client().get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_and_files_with_personal_data_are_never_stored_by_caches(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    work = make_application(owner, "work_resumption")
    browser = logged_in(app, owner)
    for path in ("/", f"/passes/{issued.number}", f"/applications/{work.id}", "/api/v1/me"):
        assert browser.get(path).headers["Cache-Control"] == "no-store", path
    attachment = work.attachments[0]
    with browser.get(f"/applications/{work.id}/attachments/{attachment.id}") as upload:
        assert upload.status_code == 200 and "no-store" in upload.headers["Cache-Control"]
    # The PDF may stay in the owner's browser only to be revalidated by its ETag on every
    # opening (a revoked pass changes it); shared caches never keep it.
    pdf = browser.get(f"/passes/{issued.number}/pdf")
    assert pdf.headers["Cache-Control"] == "private, no-cache" and pdf.headers["ETag"]


# --- cookies and sessions --------------------------------------------------------------------


def session_cookie_header(response: Any) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if "session=" in h]
    assert cookies, "no session cookie set"
    return str(cookies[-1])


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Flask) -> None:
    client = app.test_client()
    response = login(client, make_user().email, PASSWORD)
    cookie = session_cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_over_https_the_session_cookie_is_secure_and_host_only(migrated: str) -> None:
    app = create_app(test_config(migrated, HTTPS=True))
    app.test_client_class = IsolatedClient
    with app.app_context():
        user = make_user()
        client = app.test_client()
        page = "https://localhost/login"
        token = csrf_token(client, page)
        response = client.post(
            page,
            data={"email": user.email, "password": PASSWORD, "csrf_token": token},
            headers={"Referer": page},  # what strict-origin-when-cross-origin sends
        )
        assert response.status_code == 302
        cookie = session_cookie_header(response)
        assert cookie.startswith("__Host-session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain=" not in cookie  # __Host- cookies must not name a domain
        device = next(
            c for c in response.headers.getlist("Set-Cookie") if "permits_device" in c
        )  # the browser known to the account (permits.devices) is held to the same rules
        assert device.startswith("__Host-permits_device=")
        assert "Secure" in device and "HttpOnly" in device and "Path=/" in device
        from tests.conftest import empty_every_table

        db.session.remove()
        empty_every_table()
        db.engine.dispose()


class Clock:
    """Moves the session clock of permits.login only (nothing else in the app sees it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import time

        self.now = time.time()
        monkeypatch.setattr(permits.login, "time", SimpleNamespace(time=lambda: self.now))

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


def is_logged_in(client: FlaskClient) -> bool:
    return int(client.get("/api/v1/me").status_code) == 200


def test_a_session_unused_for_the_idle_time_ends(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    client = logged_in(app, make_user())
    clock.advance(app.config["SESSION_IDLE_MINUTES"] - 1)
    assert is_logged_in(client)
    clock.advance(app.config["SESSION_IDLE_MINUTES"] + 1)
    page = client.get("/applications/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert not is_logged_in(client)


def test_the_scanner_stays_logged_in_while_it_refreshes_its_revocations(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    staff = make_user(Role.CHECKPOINT, checkpoint=make_checkpoint())
    scanner = logged_in(app, staff)
    idle = app.config["SESSION_IDLE_MINUTES"]
    for _ in range(6):  # three idle periods in all, with the page's background calls
        clock.advance(idle / 2)
        assert scanner.get("/api/v1/revocations?since=0").status_code == 200
    assert scanner.get("/checkpoint/").status_code == 200


def test_even_a_busy_session_ends_after_its_lifetime(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    client = logged_in(app, make_user())
    lifetime = app.permanent_session_lifetime.total_seconds() / 60
    step = app.config["SESSION_IDLE_MINUTES"] - 1
    used = 0.0
    while used + step < lifetime:
        clock.advance(step)
        used += step
        assert is_logged_in(client)
    clock.advance(step)
    assert not is_logged_in(client)


# --- no state change on GET ------------------------------------------------------------------


def database_fingerprint() -> dict[str, str]:
    """A hash of every row of every table (audit, scans and notifications included)."""
    db.session.rollback()
    prints = {}
    for table in Base.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        prints[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    db.session.rollback()
    return prints


def get_routes(app: Flask, values: dict[str, Any]) -> list[str]:
    """Every GET route of the app, its parameters filled from the seeded world."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"no value for {missing} of {rule.rule}: add one to the world"
        with app.test_request_context():
            from flask import url_for

            paths.append(url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    return paths


def test_no_get_request_of_any_role_changes_the_database(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    work = make_application(owner, "work_resumption", submit=True)
    staff = make_user(Role.CHECKPOINT, checkpoint=make_checkpoint())
    admin = make_user(Role.ADMIN)
    verification.verify(staff, now=utcnow(), checkpoint=None, code=issued.control_code)
    db.session.commit()
    from permits.models import Checkpoint, Department

    department = db.session.scalars(select(Department)).first()
    checkpoint = db.session.scalars(select(Checkpoint)).first()
    with app.test_request_context():
        signed = share_link(issued, utcnow()).rsplit("/", 1)[1]
        unlock = devices.unlock_token(owner.id)
    values = {
        "application_id": work.id,
        "attachment_id": work.attachments[0].id,
        "number": issued.number,
        "signed": signed,
        "kind": "vehicle_pass",
        "checkpoint_id": checkpoint.id,
        "department_id": department.id,
        "mass_id": 1,
        "batch_id": 1,
        "demand_id": demands.file_demand(
            owner, category="staff_return", title="员工无法返岗", description="封控", now=utcnow()
        ).id,
        "enterprise_id": owner.enterprise_id,
        "user_id": owner.id,
        "fmt": "csv",
        "key": "0" * 32,  # a bulk upload nobody made: 404, and nothing written
        "token": unlock,  # an unlock link sets a cookie in the browser, nothing in the database
    }
    paths = get_routes(app, values)
    roles = [
        None,
        owner,
        make_user(Role.APPROVER, department=department),
        staff,
        admin,
        make_user(Role.SUPERVISOR),
    ]
    clients = [app.test_client() if u is None else logged_in(app, u) for u in roles]
    before = database_fingerprint()
    for client in clients:
        for path in paths:
            with client.get(path) as response:
                assert response.status_code < 500, path
    after = database_fingerprint()
    changed = [name for name in before if before[name] != after[name]]
    # The dashboard's figures snapshot is a cache a GET may renew (supervision.current_figures),
    # not a record of anything a user did.
    assert [name for name in changed if name != "supervision_snapshots"] == []


# --- mass assignment -------------------------------------------------------------------------

#: Fields a client must never set: who owns it, where it stands, who decided.
FORBIDDEN = {
    "status": "approved",
    "enterprise_id": None,  # filled with another enterprise's id
    "created_by_id": None,  # filled with another user's id
    "current_step": 2,
    "escalation_level": 2,
    "decisions": [{"decision": "approve"}],
    "approver_id": None,
    "decided_by_id": None,
    "pass": {"number": "310115999999"},
    "id": 999999,
}


def forbidden_fields(other_user: Any) -> dict[str, Any]:
    values = dict(FORBIDDEN)
    values["enterprise_id"] = other_user.enterprise_id
    values["created_by_id"] = other_user.id
    values["approver_id"] = other_user.id
    values["decided_by_id"] = other_user.id
    return values


@pytest.mark.parametrize("field", sorted(FORBIDDEN))
def test_the_api_never_binds_ownership_state_or_decisions_from_input(
    app: Flask, field: str
) -> None:
    owner = make_user(Role.ENTERPRISE)
    other = make_user(Role.ENTERPRISE, enterprise=make_enterprise())
    attack = {field: forbidden_fields(other)[field]}
    api = Api(app.test_client(), owner)
    draft = make_application(owner)
    count = db.session.scalar(select(func.count()).select_from(Application))

    created = api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields(), **attack})
    patched = api.patch(f"/applications/{draft.id}", attack)

    assert created.status_code == 422 and field in created.get_json()["fields"]
    assert patched.status_code == 422 and field in patched.get_json()["fields"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Application)) == count
    stored = db.session.get(Application, draft.id)
    assert stored.status.value == "draft"
    assert stored.enterprise_id == owner.enterprise_id and stored.created_by_id == owner.id
    assert stored.escalation_level == 0 and stored.decisions == []


def test_a_file_named_like_a_path_is_stored_under_a_made_up_name(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    work = make_application(owner, "work_resumption")
    stored = Path(app.config["UPLOAD_DIR"]) / work.attachments[0].storage_key
    assert stored.is_file() and re.fullmatch(r"[0-9a-f]{32}", stored.name)
