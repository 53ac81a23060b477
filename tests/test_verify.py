"""POST /api/v1/verify: a verdict for anything a checkpoint may be handed, every call logged."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from permits.extensions import db
from permits.models import Pass, Role, ScanEvent, utcnow
from permits.passes import token
from permits.passes.keys import KeyStore
from permits.services import issuance
from tests.api_helpers import Api
from tests.conftest import login
from tests.factories import PASSWORD, make_checkpoint, make_pass, make_user

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture
def officer(app: Flask) -> Api:
    return Api(app.test_client(), make_user(Role.CHECKPOINT))


def verify(api: Api, **body: object) -> dict:  # type: ignore[type-arg]
    response = api.post("/verify", body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def swap(text: str, position: int) -> str:
    """Another valid Base45 character at one position: still readable, no longer authentic."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    char = text[position]
    return text[:position] + alphabet[(alphabet.index(char) + 1) % 45] + text[position + 1 :]


def test_a_valid_qr_shows_the_facts_to_compare_and_nothing_private(officer: Api) -> None:
    issued = make_pass(plate="沪A61234")
    verdict = verify(officer, qr=issued.token)
    assert verdict["result"] == "valid" and verdict["warning"] is False
    facts = verdict["pass"]
    assert facts["plate"] == "沪A61234" and facts["number"] == issued.number
    driver = issued.application.drivers[0]
    assert facts["drivers"] == [{"name": driver.name, "id_last4": driver.id_number[-4:]}]
    body = json.dumps(verdict, ensure_ascii=False)
    assert driver.id_number not in body and driver.phone not in body


def test_every_result_is_told_apart(app: Flask, officer: Api) -> None:
    issued = make_pass()
    assert verify(officer, qr="https://example.com/")["result"] == "wrong_prefix"
    assert verify(officer, qr="PP1:not base45 at all")["result"] == "malformed"
    assert verify(officer, qr=swap(issued.token, len(issued.token) // 2))["result"] in (
        "bad_signature",
        "malformed",
    )
    assert (
        verify(officer, qr=json.loads((VECTORS / "unknown_key.json").read_text())["token"])[
            "result"
        ]
        == "unknown_key"
    )
    assert verify(officer, code="ZZZZ-ZZZZ")["result"] in ("malformed", "not_found")
    assert verify(officer, plate="沪B99999")["result"] == "not_found"

    issuance.revoke_pass(make_user(Role.ADMIN), issued, "车辆信息不实", now=utcnow())
    db.session.commit()
    revoked = verify(officer, qr=issued.token)
    assert revoked["result"] == "revoked" and revoked["pass"]["revoke_reason"] == "车辆信息不实"


def test_validity_window(app: Flask, officer: Api) -> None:
    from tests.factories import service_today

    tomorrow = service_today() + timedelta(days=1)
    issued = make_pass(
        valid_from=tomorrow.isoformat(), valid_until=(tomorrow + timedelta(days=3)).isoformat()
    )
    number = issued.number
    assert verify(officer, code=issued.control_code)["result"] == "not_yet_valid"
    stored = db.session.scalar(select(Pass).where(Pass.number == number))
    stored.not_before -= timedelta(days=40)
    stored.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert verify(officer, code=issued.control_code)["result"] == "expired"


def test_control_codes_forgive_case_hyphens_and_lookalikes(app: Flask, officer: Api) -> None:
    issued = make_pass()
    code = issued.control_code
    lookalike = code.replace("0", "O").replace("1", "I")
    for typed in (
        code,
        code.lower(),
        f"{code[:4]}-{code[4:]}",
        lookalike,
        f" {lookalike.lower()} ",
    ):
        assert verify(officer, code=typed)["pass"]["number"] == issued.number, typed


def test_a_plate_finds_its_current_pass(app: Flask, officer: Api) -> None:
    issued = make_pass(plate="沪AD35719")
    for typed in ("沪AD35719", "沪ad 35719", "沪A·D35719"):
        verdict = verify(officer, plate=typed)
        assert verdict["result"] == "valid" and verdict["pass"]["number"] == issued.number


def test_every_call_is_logged_as_a_scan(app: Flask) -> None:
    checkpoint = make_checkpoint(code="JD-G2")
    staff = make_user(Role.CHECKPOINT, checkpoint=checkpoint)
    api = Api(app.test_client(), staff)
    issued = make_pass(plate="沪A12345")
    verify(api, qr=issued.token)
    verify(api, code="nonsense")
    verify(api, plate="沪A12345")
    scans = list(db.session.scalars(select(ScanEvent).order_by(ScanEvent.id)))
    assert [(s.method, s.result) for s in scans] == [
        ("qr", "valid"),
        ("code", "malformed"),
        ("plate", "valid"),
    ]
    assert {s.user_id for s in scans} == {staff.id}
    assert {s.checkpoint_id for s in scans} == {checkpoint.id}
    assert scans[0].pass_id == issued.id and scans[1].pass_id is None


def test_roles(app: Flask) -> None:
    issued = make_pass()
    enterprise = Api(app.test_client(), make_user(Role.ENTERPRISE))
    assert enterprise.post("/verify", {"qr": issued.token}).status_code == 403
    assert app.test_client().post("/api/v1/verify", json={"qr": issued.token}).status_code == 401
    admin = Api(app.test_client(), make_user(Role.ADMIN))
    assert admin.post("/verify", {"qr": issued.token}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "PP1:",
        {},
        {"qr": 5},
        {"qr": None, "code": None},
        {"qr": "x", "code": "y"},
        {"qr": "PP1:" + "A" * 100_000},
        {"code": "x" * 100_000},
        {"plate": "沪" * 50_000},
        {"qr": "\x00\udcff"},
        {"code": "ABCD-EFGH", "checkpoint": "nowhere"},
        {"code": "ABCD-EFGH", "checkpoint": {"a": 1}},
    ],
)
def test_any_input_gets_a_verdict_or_a_4xx(officer: Api, body: object) -> None:
    response = officer.post("/verify", body)
    assert response.status_code < 500
    assert response.is_json


def test_a_pass_seen_too_far_apart_too_soon_turns_amber(app: Flask) -> None:
    anting = make_checkpoint(code="JD-ANTING", district="310114")  # 31.3 N 121.2 E
    far = make_checkpoint(code="CM-FAR", district="310151")
    far.latitude, far.longitude = 31.62, 121.80  # Chongming, ~70 km away
    db.session.commit()
    issued = make_pass()
    first = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=anting))
    second = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=far))
    assert verify(first, qr=issued.token)["warning"] is False
    flagged = verify(second, qr=issued.token)
    assert flagged["result"] == "valid" and flagged["warning"] is True
    assert flagged["flags"] == ["distance"]
    assert db.session.scalar(select(ScanEvent.anomaly).order_by(ScanEvent.id.desc())) == "distance"


def test_offline_scans_are_stored_once(app: Flask, officer: Api) -> None:
    issued = make_pass()
    scan = {
        "id": "7b7f1c8e-2f7a-4d55-9d7e-111111111111",
        "number": issued.number,
        "result": "valid",
        "scanned_at": utcnow().isoformat(),
    }
    once = {"received": 1, "stored": 1, "refused": []}
    assert officer.post("/scans", {"scans": [scan]}).get_json() == once
    again = {"received": 1, "stored": 0, "refused": []}
    assert officer.post("/scans", {"scans": [scan]}).get_json() == again
    stored = db.session.scalar(select(ScanEvent).where(ScanEvent.is_offline.is_(True)))
    assert stored.pass_id == issued.id
    assert officer.post("/scans", {"scans": [{"id": 1}]}).status_code == 422
    assert officer.post("/scans", {"nope": 1}).status_code == 400


def offline(number: str | None, result: str, scanned_at: str, n: int = 0) -> dict[str, object]:
    return {"id": f"offline-{n}", "number": number, "result": result, "scanned_at": scanned_at}


def test_offline_scans_that_cannot_be_true_are_refused_each_with_its_fields(
    app: Flask, officer: Api
) -> None:
    """A 1970-dated valid scan of a pass nobody issued was stored as it came; now each scan
    that cannot be true is refused on its own with the field that says why, the others stored."""
    officer.user.created_at = utcnow() - timedelta(days=1)  # posted here since yesterday
    db.session.commit()
    officer.headers["Accept-Language"] = "en"
    issued = make_pass()
    now = utcnow()
    scans = [
        offline("999999999999", "valid", "1970-01-01T00:00:00+00:00", 0),
        offline(issued.number, "valid", now.isoformat(), 1),  # the good one
        offline("999999999999", "valid", now.isoformat(), 2),
        offline(None, "revoked", now.isoformat(), 3),
        offline(issued.number, "valid", (now + timedelta(hours=1)).isoformat(), 4),
        offline(issued.number, "valid", (issued.issued_at - timedelta(hours=1)).isoformat(), 5),
        offline(issued.number, "magic", now.isoformat(), 6),
        offline(None, "malformed", now.isoformat(), 7),  # stored: nothing to know of it
        offline("not a number", "bad_signature", now.isoformat(), 8),  # stored: a forgery seen
    ]
    answer = officer.post("/scans", {"scans": scans}).get_json()

    assert (answer["received"], answer["stored"]) == (9, 3)
    refused = {r["index"]: r for r in answer["refused"]}
    assert {i: set(r["fields"]) for i, r in refused.items()} == {
        0: {"scanned_at", "number"},
        2: {"number"},
        3: {"number"},
        4: {"scanned_at"},
        5: {"scanned_at"},
        6: {"result"},
    }
    assert refused[0]["id"] == "offline-0" and refused[0]["error"] == "invalid"
    assert refused[0]["fields"]["scanned_at"].startswith("This time is before your account")
    assert refused[2]["fields"]["number"] == "No pass has this number."
    assert refused[4]["fields"]["scanned_at"].startswith("This time is in the future")
    assert refused[5]["fields"]["scanned_at"].startswith("This time is before the pass was")
    assert all(r["message"] for r in refused.values())
    kept = db.session.scalars(
        select(ScanEvent.client_id).where(ScanEvent.is_offline.is_(True)).order_by(ScanEvent.id)
    ).all()
    assert kept == ["offline-1", "offline-7", "offline-8"]


def test_verify_matches_the_reference_verifier_on_every_vector(app: Flask, officer: Api) -> None:
    """Vectors signed by keys this service does not publish come back as unknown_key — the
    server trusts only its own keys — while malformed and wrong-prefix ones say so."""
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text())
        result = verify(officer, qr=vector["token"])["result"]
        decided_before_the_key = "missing_claims" not in path.name  # claims come after the key
        if vector["expected"] in ("malformed", "wrong_prefix") and decided_before_the_key:
            assert result == vector["expected"], path.name
        else:
            assert result == token.Result.UNKNOWN_KEY.value, path.name


def test_approvers_see_the_scans_of_a_pass_on_its_page(app: Flask) -> None:
    from tests.conftest import login
    from tests.factories import PASSWORD, make_approver

    issued = make_pass()
    verify(
        Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=make_checkpoint(code="JD-9"))),
        qr=issued.token,
    )
    approver = make_approver("transport", "city")
    browser = app.test_client()
    login(browser, approver.email, PASSWORD)
    page = browser.get(f"/passes/{issued.number}").get_data(as_text=True)
    assert 'id="scans"' in page and "测试卡口" in page


def test_checkpoint_staff_see_their_recent_scans(app: Flask) -> None:
    from tests.conftest import login
    from tests.factories import PASSWORD

    staff = make_user(Role.CHECKPOINT)
    issued = make_pass()
    verify(Api(app.test_client(), staff), qr=issued.token)
    browser = app.test_client()
    login(browser, staff.email, PASSWORD)
    assert issued.number in browser.get("/checkpoint/history").get_data(as_text=True)


def test_verify_is_rate_limited_per_user(app: Flask) -> None:
    app.config["VERIFY_LIMIT"] = "3 per minute"
    api = Api(app.test_client(), make_user(Role.CHECKPOINT))
    statuses = [api.post("/verify", {"code": "ABCD-EFGH"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.post("/verify", {"code": "ABCD-EFGH"})
    assert refused.is_json and refused.get_json()["error"] == "rate_limited"
    other = Api(app.test_client(), make_user(Role.CHECKPOINT))
    other.client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert other.post("/verify", {"code": "ABCD-EFGH"}).status_code == 200


def test_staff_cannot_log_scans_at_another_checkpoint(app: Flask) -> None:
    mine, other = make_checkpoint(code="MINE"), make_checkpoint(code="OTHER")
    api = Api(app.test_client(), make_user(Role.CHECKPOINT, checkpoint=mine))
    assert api.post("/verify", {"code": "ABCD-EFGH", "checkpoint": "OTHER"}).status_code == 403
    assert api.post("/verify", {"code": "ABCD-EFGH", "checkpoint": "MINE"}).status_code == 200
    admin = Api(app.test_client(), make_user(Role.ADMIN))
    assert admin.post("/verify", {"code": "ABCD-EFGH", "checkpoint": other.code}).status_code == 200


def test_a_pass_scanned_too_often_within_the_hour_turns_amber(app: Flask, officer: Api) -> None:
    issued = make_pass()
    limit = app.config["SCANS_PER_HOUR_LIMIT"]
    old = utcnow() - timedelta(hours=2)
    db.session.add_all(
        ScanEvent(
            pass_id=issued.id, user_id=officer.user.id, scanned_at=old, result="valid", method="qr"
        )
        for _ in range(limit + 3)
    )
    db.session.commit()
    for _ in range(limit):
        assert verify(officer, qr=issued.token)["warning"] is False  # older scans do not count
    flagged = verify(officer, qr=issued.token)
    assert flagged["result"] == "valid" and flagged["flags"] == ["frequency"]
    assert verify(officer, code=issued.control_code)["flags"] == ["frequency"]


def test_a_scan_far_away_long_ago_is_no_anomaly(app: Flask) -> None:
    anting = make_checkpoint(code="JD-ANTING", district="310114")
    far = make_checkpoint(code="CM-FAR", district="310151")
    far.latitude, far.longitude = 31.62, 121.80
    issued = make_pass()
    user = make_user(Role.CHECKPOINT, checkpoint=anting)
    db.session.add(
        ScanEvent(
            pass_id=issued.id,
            user_id=user.id,
            checkpoint_id=far.id,
            result="valid",
            method="qr",
            scanned_at=utcnow() - timedelta(minutes=90),
        )
    )
    db.session.commit()
    verdict = verify(Api(app.test_client(), user), qr=issued.token)
    assert verdict["result"] == "valid" and verdict["flags"] == []


def test_the_reason_comes_in_the_callers_language(officer: Api) -> None:
    issued = make_pass()

    def reason(language: str, **body: str) -> str:
        response = officer.client.post(
            "/api/v1/verify",
            json=body,
            headers={**officer.headers, "Accept-Language": language},
        )
        return str(response.get_json()["reason"])

    assert "通行证有效" in reason("zh-CN", qr=issued.token)
    assert reason("en", qr=issued.token).startswith("Valid pass")
    assert "通行证有效" in reason("zh-CN", qr=issued.token)
    assert reason("en", code="0000000Z").isascii()


def test_a_dropped_database_connection_is_replaced_on_the_next_scan(
    app: Flask, officer: Api
) -> None:
    """The verifier holds a connection of its own for its hot read; if the server drops it
    (a restart), the scan is answered on a fresh one rather than failing."""
    issued = make_pass()
    assert verify(officer, qr=issued.token)["result"] == "valid"
    held = app.extensions["permits.verify_connections"]
    for raw in list(held._by_thread.values()):
        raw.driver_connection.close()
    assert verify(officer, qr=issued.token)["result"] == "valid"


def test_threads_that_ended_leave_no_connection_held(app: Flask, officer: Api) -> None:
    """A server that starts a thread per request (the threaded development server) must not
    keep one held connection per thread it ever ran: those of ended threads are let go."""
    issued = make_pass()
    results: list[str] = []

    def scan() -> None:
        results.append(verify(officer, qr=issued.token)["result"])

    for _ in range(20):
        thread = threading.Thread(target=scan)
        thread.start()
        thread.join()
    assert results == ["valid"] * 20
    held = app.extensions["permits.verify_connections"]
    assert len(held) <= 2  # the last scan's thread, and this one's if it scanned


def test_a_connection_the_server_ends_is_replaced_on_the_next_scan(
    app: Flask, officer: Api
) -> None:
    """PostgreSQL: the hot read goes through libpq with a statement prepared on the held
    connection; when the server ends that connection, the next scan prepares it again on a
    fresh one and is answered."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's own connections")
    issued = make_pass()
    assert verify(officer, qr=issued.token)["result"] == "valid"
    held = app.extensions["permits.verify_connections"]
    pids = [raw.driver_connection.info.backend_pid for raw in held._by_thread.values()]
    with db.engine.connect() as conn:
        for pid in pids:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert verify(officer, qr=issued.token)["result"] == "valid"
    assert verify(officer, qr=issued.token)["result"] == "valid"


def test_the_service_worker_names_its_cache_after_the_files_it_keeps(app: Flask) -> None:
    """A release that changes the scanner's files must reach phones at once: the served
    service worker differs, so browsers install it and drop the old cache."""
    from permits.views import checkpoint

    served = app.test_client().get("/checkpoint/sw.js").get_data(as_text=True)
    assert 'const VERSION = "checkpoint-shell-v1"' not in served
    assert "checkpoint-shell-" in served
    static = Path(app.static_folder or "")
    checkpoint._service_worker_source.cache_clear()
    try:
        (static / "js" / "zz-release-marker.tmp").write_text("a new release")
        changed = checkpoint._service_worker_source(str(static))
    finally:
        (static / "js" / "zz-release-marker.tmp").unlink()
        checkpoint._service_worker_source.cache_clear()
    assert changed != served


def test_the_camera_decoder_is_one_script_kept_with_the_app_shell(app: Flask) -> None:
    """A worker's script is fetched by its own URL: outside the service worker's scope
    (/checkpoint/) it was never answered from the cache, and a camera first started without
    network read nothing (the browser journeys prove it; this keeps the pieces in place)."""
    client = app.test_client()
    worker = client.get("/checkpoint/qr-worker.js")
    assert worker.status_code == 200 and worker.mimetype == "application/javascript"
    source = worker.get_data(as_text=True)
    jsqr = (Path(app.static_folder or "") / "vendor/jsqr/jsQR.js").read_text(encoding="utf-8")
    assert source.startswith(jsqr) and "self.onmessage" in source
    assert "importScripts" not in source  # nothing left to fetch once the worker runs
    shell = client.get("/checkpoint/sw.js").get_data(as_text=True)
    assert '"./qr-worker.js"' in shell

    officer = make_user(Role.CHECKPOINT)
    page = app.test_client()
    assert login(page, officer.email, PASSWORD).status_code == 302
    html = page.get("/checkpoint/").get_data(as_text=True)
    assert 'data-worker-url="/checkpoint/qr-worker.js"' in html
    # Said in the officer's language (Chinese by default) when the decoder cannot start.
    assert "摄像头暂时无法识别二维码" in html and "扫码枪输入框" in html


def test_a_pass_signed_by_a_key_another_worker_just_made_is_valid_at_once(
    app: Flask, officer: Api
) -> None:
    """Workers look at the shared key folder at most once a second; a signature by a key they
    do not know yet makes them look again at once instead of answering "unknown key"."""
    issued = make_pass()
    assert verify(officer, qr=issued.token)["result"] == "valid"  # this worker read the folder
    mine = issuance.key_store()
    other_worker = KeyStore(mine.folder, mine.lifetime)
    new_key = other_worker.rotate(utcnow())
    assert new_key.private_key is not None
    now = utcnow()
    claims = token.verify(issued.token, mine.public_keys(now), int(now.timestamp())).claims
    assert claims is not None
    resigned = token.sign(claims, new_key.private_key, new_key.kid)
    assert verify(officer, qr=resigned)["result"] == "valid"
    assert verify(officer, qr=issued.token)["result"] == "valid"  # the old key stays published


def _with_signature_changed(text: str) -> str:
    """The same COSE message with one bit of its signature flipped: readable, same pass number,
    same published kid, not authentic."""
    import zlib

    import cbor2

    message = cbor2.loads(zlib.decompress(token.b45decode(text[len(token.PREFIX) :])))
    protected, unprotected, payload, signature = message.value
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    forged = cbor2.CBORTag(message.tag, [protected, unprotected, payload, flipped])
    return token.PREFIX + token.b45encode(zlib.compress(cbor2.dumps(forged)))


def test_only_the_very_text_issued_skips_the_signature_check(
    officer: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The register holds each pass's issued text: that text needs no signature check, but a
    text naming the same pass with a broken signature is still found out, is logged against no
    pass, and the issued text stops counting once its key is no longer published."""
    issued = make_pass()
    assert verify(officer, qr=issued.token + "\r\n")["result"] == "valid"  # a scanner's Enter
    forged = verify(officer, qr=_with_signature_changed(issued.token))
    assert forged["result"] == "bad_signature" and forged["pass"] is None
    scans = db.session.scalars(select(ScanEvent).order_by(ScanEvent.id)).all()
    assert [(s.result, s.pass_id) for s in scans] == [("valid", issued.id), ("bad_signature", None)]

    # Once its key's signing period is over the key is no longer published: the text is no
    # longer taken for ours, although the register still holds it.
    monkeypatch.setattr(issuance.key_store(), "public_keys", lambda now, recheck=False: {})
    assert verify(officer, qr=issued.token)["result"] == "unknown_key"
