"""Issuing passes: numbers, control codes, signed tokens, keys, revocation, renewal, access."""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Application, Counter, Decision, Pass, PassStatus, Role, utcnow
from permits.passes import codes, token
from permits.services import issuance
from permits.workflow import State
from tests.api_helpers import Api
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    approve_fully,
    make_application,
    make_approver,
    make_enterprise,
    make_pass,
    make_user,
)


def published_keys(client: object) -> dict[bytes, ec.EllipticCurvePublicKey]:
    """The verifier's view: nothing but GET /api/v1/keys."""
    import base64

    def b64(value: str) -> bytes:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    jwks = client.get("/api/v1/keys").get_json()["keys"]  # type: ignore[attr-defined]
    keys = {}
    for jwk in jwks:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64(jwk["x"]), "big"),
            int.from_bytes(b64(jwk["y"]), "big"),
            ec.SECP256R1(),
        )
        keys[b64(jwk["kid"])] = numbers.public_key()
    return keys


def test_the_last_approval_issues_a_signed_pass(app: Flask) -> None:
    issued = make_pass(plate="沪A12345")
    assert issued.number == "310115000001"
    assert codes.normalize_control_code(issued.control_code) == issued.control_code
    keys = published_keys(app.test_client())
    result = token.verify(issued.token, keys, int(issued.not_before.timestamp()) + 60)
    assert result.result is token.Result.VALID
    claims = result.claims
    assert claims.number == issued.number and claims.plate == "沪A12345"
    assert claims.kind == "VP" and claims.issuer == "CN-310000"
    assert all(len(last4) == 4 for _name, last4 in claims.drivers)
    # The QR never holds a full ID number or a phone number.
    application = issued.application
    assert application.drivers[0].id_number not in issued.token
    assert application.drivers[0].phone not in issued.token


def test_validity_is_whole_days_in_shanghai(app: Flask) -> None:
    issued = make_pass()
    nbf = issued.not_before.astimezone(issuance._zone())
    exp = issued.expires_at.astimezone(issuance._zone())
    assert (nbf.hour, nbf.minute, nbf.date()) == (0, 0, issued.valid_from)
    assert (exp.hour, exp.minute) == (0, 0)
    assert (exp.date() - issued.valid_until).days == 1


def test_work_resumption_pass_is_numbered_by_the_sites_district(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104"))
    issued = make_pass(user, "work_resumption", district="310104")
    assert issued.number.startswith("310104")
    claims = token.verify(
        issued.token, published_keys(app.test_client()), int(issued.not_before.timestamp())
    ).claims
    assert claims.kind == "WR" and claims.site and claims.staff == 40


def test_twenty_concurrent_issues_in_one_district_get_twenty_consecutive_numbers(
    app: Flask,
) -> None:
    enterprise_user = make_user(Role.ENTERPRISE)
    ids = []
    for i in range(20):
        application = make_application(enterprise_user, submit=True, plate=f"沪A{20000 + i}")
        from permits.services import reviews

        reviews.decide(make_approver("commerce", "310115"), application, "approve", now=utcnow())
        db.session.commit()
        ids.append(application.id)
    apis = [Api(app.test_client(), make_approver("transport", "city")) for _ in ids]
    barrier = threading.Barrier(len(ids))

    def approve(pair: tuple[Api, int]) -> int:
        api, app_id = pair
        barrier.wait()
        return int(
            api.post(f"/applications/{app_id}/decisions", {"decision": "approve"}).status_code
        )

    with ThreadPoolExecutor(len(ids)) as pool:
        assert set(pool.map(approve, zip(apis, ids, strict=True))) == {201}
    numbers = sorted(db.session.scalars(select(Pass.number)))
    assert numbers == [f"310115{serial:06d}" for serial in range(1, 21)]


def test_a_failure_while_issuing_leaves_no_decision_no_pass_and_no_used_serial(
    app: Flask, monkeypatch: object
) -> None:
    enterprise_user = make_user(Role.ENTERPRISE)
    first = make_pass(enterprise_user)
    application = make_application(enterprise_user, submit=True, plate="沪A77777")
    from permits.services import reviews

    reviews.decide(make_approver("commerce", "310115"), application, "approve", now=utcnow())
    db.session.commit()
    decisions_before = db.session.scalar(select(func.count()).select_from(Decision))
    city = Api(app.test_client(), make_approver("transport", "city"))

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(issuance.KeyStore, "signer_for", broken)  # type: ignore[attr-defined]
    response = city.post(f"/applications/{application.id}/decisions", {"decision": "approve"})
    assert response.status_code == 500
    db.session.expire_all()
    assert db.session.get(Application, application.id).status is State.IN_REVIEW
    assert db.session.scalar(select(func.count()).select_from(Decision)) == decisions_before
    assert db.session.scalar(select(func.count()).select_from(Pass)) == 1
    assert db.session.get(Counter, "pass:310115").value == 1

    monkeypatch.undo()  # type: ignore[attr-defined]
    response = city.post(f"/applications/{application.id}/decisions", {"decision": "approve"})
    assert response.status_code == 201
    assert response.get_json()["application"]["pass"]["number"] == "310115000002"
    assert first.number == "310115000001"


def test_keys_live_in_files_only_their_owner_reads(app: Flask) -> None:
    make_pass()
    pems = list(Path(app.config["KEYS_DIR"]).glob("*.pem"))
    assert pems
    for pem in pems:
        assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600


def test_rotation_keeps_old_passes_verifiable(app: Flask) -> None:
    old = make_pass()
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new = make_pass(plate="沪B12345")
    assert new.kid != old.kid
    keys = published_keys(app.test_client())
    assert {bytes.fromhex(old.kid), bytes.fromhex(new.kid)} <= set(keys)
    for issued in (old, new):
        assert (
            token.verify(issued.token, keys, int(issued.not_before.timestamp())).result
            is token.Result.VALID
        )
    jwk = app.test_client().get("/api/v1/keys").get_json()["keys"][0]
    assert {"kty", "crv", "x", "y", "kid", "nbf", "exp"} <= set(jwk)
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"


def test_a_pass_never_outlives_its_key(app: Flask) -> None:
    app.config["KEY_LIFETIME_DAYS"] = 3
    app.extensions.pop(issuance.KEY_STORE, None)
    issued = make_pass()  # valid 14 days: the 3-day key cannot sign it, a longer one is made
    key = next(k for k in issuance.key_store().all() if k.kid_hex == issued.kid)
    assert key.expires_at >= issued.expires_at


def test_revocation_reaches_the_feed_and_every_page(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    number = issued.number
    anyone = app.test_client()
    start = anyone.get("/api/v1/revocations?since=0").get_json()
    assert start == {"counter": 0, "revoked": [], "reinstated": []}

    district = Api(app.test_client(), make_approver("commerce", "310115"))
    response = district.post(f"/passes/{number}/revoke", {"reason": "车辆信息不实"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "revoked"
    feed = anyone.get("/api/v1/revocations?since=0").get_json()
    assert feed == {"counter": 1, "revoked": [number], "reinstated": []}
    later = anyone.get("/api/v1/revocations?since=1").get_json()
    assert later == {"counter": 1, "revoked": [], "reinstated": []}

    owner_api = Api(app.test_client(), owner)
    assert owner_api.get(f"/passes/{number}").get_json()["status"] == "revoked"
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(browser, owner.email, PASSWORD)
    assert "REVOKED" in browser.get(f"/passes/{number}").get_data(as_text=True)
    assert "车辆信息不实" in browser.get("/notifications/").get_data(as_text=True)
    again = district.post(f"/passes/{number}/revoke", {"reason": "again"})
    assert again.status_code == 409


def test_only_approvers_in_scope_and_admins_revoke(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    number = make_pass(owner).number
    for user in (owner, make_approver("commerce", "310104"), make_approver("health", "310115")):
        response = Api(app.test_client(), user).post(f"/passes/{number}/revoke", {"reason": "x"})
        assert response.status_code in (403, 404), user.email
    admin = Api(app.test_client(), make_user(Role.ADMIN))
    assert admin.post(f"/passes/{number}/revoke", {"reason": "行政撤销"}).status_code == 200
    assert admin.post(f"/passes/{number}/revoke", {}).status_code in (409, 422)


def test_another_enterprise_gets_404_for_pass_pdf_and_share(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    number = make_pass(owner).number
    other = make_user(Role.ENTERPRISE)
    api = Api(app.test_client(), other)
    assert api.get(f"/passes/{number}").status_code == 404
    assert api.get(f"/passes/{number}/pdf").status_code == 404
    browser = app.test_client()
    login(browser, other.email, PASSWORD)
    assert browser.get(f"/passes/{number}").status_code == 404
    assert browser.get(f"/passes/{number}/pdf").status_code == 404
    from tests.conftest import csrf_token

    refused = browser.post(f"/passes/{number}/share", data={"csrf_token": csrf_token(browser)})
    assert refused.status_code == 404


def test_the_share_link_shows_the_pass_without_login_until_it_expires(app: Flask) -> None:
    import re

    from tests.conftest import csrf_token

    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    browser = app.test_client()
    login(browser, owner.email, PASSWORD)
    page = browser.post(
        f"/passes/{issued.number}/share", data={"csrf_token": csrf_token(browser)}
    ).get_data(as_text=True)
    link = re.search(r'id="share-link"[^>]*value="([^"]+)"', page).group(1)
    path = link.split("localhost", 1)[1]
    driver = app.test_client()
    shown = driver.get(path)
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert issued.plate in body and "<svg" in body
    assert issued.application.drivers[0].id_number not in body
    assert issued.application.drivers[0].phone not in body
    assert "Download" not in body and "Revoke" not in body
    assert driver.get(path[:-3] + "xyz").status_code == 404
    app.config["SHARE_LINK_DAYS"] = -1  # links made from now on are already over
    expired = browser.post(
        f"/passes/{issued.number}/share", data={"csrf_token": csrf_token(browser)}
    ).get_data(as_text=True)
    old_link = re.search(r'id="share-link"[^>]*value="([^"]+)"', expired).group(1)
    assert driver.get(old_link.split("localhost", 1)[1]).status_code == 404


def test_renewal_supersedes_the_old_pass_when_the_new_one_is_issued(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    old = make_pass(owner)
    renewal = issuance.renew(owner, old, now=utcnow())
    db.session.commit()
    assert renewal.status is State.DRAFT and renewal.renewal_of_id == old.id
    assert (
        renewal.plate == old.plate
        and renewal.valid_from
        == old.valid_until.__class__.fromordinal(old.valid_until.toordinal() + 1)
    )
    assert issuance.can_renew(owner, old, utcnow()) is False  # one renewal at a time
    from permits.services import applications

    applications.submit(owner, renewal, now=utcnow())
    db.session.commit()
    new = approve_fully(renewal)
    db.session.refresh(old)
    assert old.status is PassStatus.REVOKED and old.superseded_by_id == new.id
    assert new.number in (old.revoke_reason or "")


def test_pdf_is_served_with_an_etag_and_revalidates(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    api = Api(app.test_client(), owner)
    first = api.get(f"/passes/{issued.number}/pdf")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert first.headers["Content-Type"] == "application/pdf"
    etag = first.headers["ETag"]
    again = api.client.get(
        f"/api/v1/passes/{issued.number}/pdf", headers={**api.headers, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert api.get(f"/passes/{issued.number}/pdf").data == first.data


def test_a_control_code_already_taken_is_drawn_again_and_the_token_carries_the_new_one(
    app: Flask, monkeypatch: object
) -> None:
    enterprise_user = make_user(Role.ENTERPRISE)
    first = make_pass(enterprise_user)
    drawn = iter(
        [first.control_code, first.control_code, "7ZX4KQ2" + codes.check_character("7ZX4KQ2")]
    )
    monkeypatch.setattr(codes, "new_control_code", lambda: next(drawn))  # type: ignore[attr-defined]

    second = make_pass(enterprise_user, plate="沪A77777")

    assert second.control_code == "7ZX4KQ2" + codes.check_character("7ZX4KQ2")
    assert second.number == "310115000002"  # one serial, however many codes were drawn
    assert next(drawn, None) is None
    keys = published_keys(app.test_client())
    result = token.verify(second.token, keys, int(second.not_before.timestamp()) + 60)
    assert result.result is token.Result.VALID
    assert result.claims.control_code == second.control_code
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Pass)) == 2
    assert db.session.get(Counter, "pass:310115").value == 2
