"""The checkpoint scanner in a real browser, on a phone-sized screen: a fake camera shows a pass
(valid → green with the plate; revoked → red with the reason), a hardware scanner types into
its field, an officer types a control code or a plate, and without network the page decides by
itself from the cached keys and revocation list, then uploads those scans when the network
returns. The page's PP1 verifier (static/js/pp1.js) also passes every conformance vector.

The first test is the officer's whole journey (camera, scanner, control code, online and offline)
once in Chinese on a phone and once in English on a desktop, with axe-core; the others look at
each part closely. The last ones start the camera without network, and keep its decoder from
loading (issue 26).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
from PIL import Image
from sqlalchemy import select

from permits.extensions import db
from permits.models import Pass, Role, ScanEvent, utcnow
from permits.passes import token
from permits.passes.pdf import qr_modules
from permits.services import issuance
from tests.browser.conftest import (
    EN_DESKTOP,
    PHONE,
    SETTINGS,
    ZH_PHONE,
    Setting,
    check_accessibility,
    log_in,
    new_page,
    snap,
)
from tests.conftest import project_root
from tests.factories import make_pass, make_user

SMALL_PHONE = {"width": 360, "height": 740}


def qr_frame(text: str) -> bytes:
    """One .y4m frame of the QR code of `text`: 640×480, the code centred on white and as high
    as the frame, 4:2:0 full-range YCbCr."""
    modules = qr_modules(text)
    side = len(modules) + 8  # with a quiet zone of 4 modules
    code = Image.new("L", (side, side), 255)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                code.putpixel((c + 4, r + 4), 0)
    scale = 480 // side
    code = code.resize((side * scale, side * scale), Image.NEAREST)
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(code.convert("RGB"), ((640 - code.width) // 2, (480 - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    planes = y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes()
    return b"FRAME\n" + planes


def qr_video(text: str, path: Path, frames: int = 3) -> Path:
    """A .y4m video (what chromium's fake camera plays) of the QR code of `text` (C420jpeg)."""
    path.write_bytes(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n" + qr_frame(text) * frames)
    return path


def qr_slideshow(texts: list[str], path: Path) -> Path:
    """A .y4m video showing each QR code in turn for half a second, looped by the fake camera: a
    new code appears in front of the camera every half second."""
    path.write_bytes(
        b"YUV4MPEG2 W640 H480 F2:1 Ip A1:1 C420jpeg\n" + b"".join(map(qr_frame, texts))
    )
    return path


def tampered(text: str) -> str:
    """The token with one character in the middle of its Base45 text changed, to one that keeps
    it valid Base45 (the first of a group of three, whose weight is 1: the value moves by 1)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    body = text[len(token.PREFIX) :]
    i = len(body) // 2 // 3 * 3
    value = alphabet.index(body[i])
    changed = body[:i] + alphabet[value - 1 if value else 1] + body[i + 1 :]
    assert token.b45decode(changed) != token.b45decode(body)
    return token.PREFIX + changed


def forged(text: str, plate: str, other: str) -> str:
    """The token with another plate in its payload and the original signature."""
    message = cbor2.loads(zlib.decompress(token.b45decode(text[len(token.PREFIX) :])))
    protected, unprotected, payload, signature = message.value
    payload = payload.replace(plate.encode(), other.encode())
    message = cbor2.CBORTag(18, [protected, unprotected, payload, signature])
    return token.PREFIX + token.b45encode(zlib.compress(cbor2.dumps(message), 9))


def issue(plate: str, *, revoked_because: str | None = None) -> Pass:
    """A pass issued through the workflow (and revoked, with a reason)."""
    issued = make_pass(plate=plate)
    if revoked_because:
        issuance.revoke_pass(make_user(Role.ADMIN), issued, revoked_because, now=utcnow())
    # make_pass ends with a read: end that transaction, whose SQLite write lock (BEGIN
    # IMMEDIATE outside requests) would hold up the live server.
    db.session.commit()
    return issued


def open_scanner(
    browser: Any,
    base: str,
    email: str,
    *,
    chinese: bool = True,
    viewport: Any = PHONE,
    setting: Setting | None = None,
) -> Any:
    setting = setting or (ZH_PHONE if chinese else EN_DESKTOP)
    page = new_page(browser, locale=setting.locale, viewport=viewport or setting.viewport)
    log_in(page, base, email, setting)
    page.goto(f"{base}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")
    return page


def wait_until_controlled(page: Any) -> None:
    """Until the service worker controls the page. Polled from here: Playwright's
    wait_for_function evaluates its predicate with eval() in the page while it polls, which the
    app's Content-Security-Policy (rightly) refuses."""
    for _ in range(100):
        if page.evaluate("!!navigator.serviceWorker.controller"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the service worker never took control of the page")


def verdict(page: Any, result: str) -> dict[str, str]:
    """Waits for the full-screen verdict of `result`; its tone, words and facts."""
    box = page.wait_for_selector(f'#verdict[data-result="{result}"]', state="visible")
    return {
        "tone": box.get_attribute("data-tone"),
        "offline": box.get_attribute("data-offline"),
        "title": page.inner_text("#verdict-title"),
        "reason": page.inner_text("#verdict-reason"),
        "plate": page.inner_text("#verdict-plate"),
        "facts": page.inner_text("#verdict-facts"),
        "notes": page.inner_text("#verdict-notes"),
    }


def scan_with_scanner(page: Any, text: str) -> None:
    """What a hardware scanner does: types into the focused field and presses Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def focused(page: Any) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def i18n(page: Any) -> Any:
    return json.loads(page.text_content("#scanner-i18n"))


def covers_the_screen(page: Any) -> bool:
    return page.evaluate(
        """() => { const r = document.getElementById('verdict').getBoundingClientRect();
                   return r.top <= 0 && r.left <= 0 && r.right >= innerWidth
                          && r.bottom >= innerHeight; }"""
    )


@SETTINGS
def test_an_officer_scans_by_camera_scanner_and_control_code_online_and_offline(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path, setting: Setting
) -> None:
    officer = make_user(Role.CHECKPOINT)
    good = issue("沪A12345")
    withdrawn = issue("沪B20001", revoked_because=setting.t("车辆信息不符", "Wrong vehicle"))
    camera = camera_browser(qr_video(good.token, tmp_path / "valid.y4m"))
    page = open_scanner(camera, live_server, officer.email, setting=setting, viewport=None)
    assert page.locator("html").get_attribute("lang") == setting.t("zh-CN", "en")
    check_accessibility(page, "scanner")

    # By camera: green, the plate and the driver, over the whole screen.
    page.get_by_role("button", name=setting.t("打开摄像头", "Start camera")).click()
    seen = verdict(page, "valid")
    assert (seen["tone"], seen["offline"], seen["plate"]) == ("ok", "false", "沪A12345")
    assert "王师傅" in seen["facts"] and covers_the_screen(page)
    check_accessibility(page, "green verdict")
    snap(page, f"{setting.device}-scanner-valid")
    page.keyboard.press("Escape")
    page.wait_for_selector("#verdict", state="hidden")
    page.click("#camera-toggle")
    assert page.get_attribute("#scanner", "data-camera") == "off"

    # By a hardware scanner typing into its field: red, and why.
    page.locator("#scanner-input").focus()
    scan_with_scanner(page, withdrawn.token)
    seen = verdict(page, "revoked")
    assert seen["tone"] == "bad" and seen["plate"] == "沪B20001"
    assert setting.t("车辆信息不符", "Wrong vehicle") in seen["facts"]
    check_accessibility(page, "red verdict")
    snap(page, f"{setting.device}-scanner-revoked")
    page.keyboard.press("Escape")

    # By the control code printed under the QR, typed by the officer.
    page.get_by_label(setting.t("校验码", "Control code"), exact=True).fill(good.control_code)
    page.click("#code-form button")
    assert verdict(page, "valid")["plate"] == "沪A12345"
    page.keyboard.press("Escape")

    # Offline: the page decides from its cached keys, and uploads the scan when back online.
    page.wait_for_selector("#scanner[data-keys-at][data-revocations-at]")
    wait_until_controlled(page)
    page.context.set_offline(True)
    page.locator("#scanner-input").focus()
    scan_with_scanner(page, good.token)
    seen = verdict(page, "valid")
    assert (seen["tone"], seen["offline"], seen["plate"]) == ("ok", "true", "沪A12345")
    check_accessibility(page, "offline verdict")
    page.keyboard.press("Escape")
    page.context.set_offline(False)
    page.wait_for_selector("#scanner[data-queue='0']", timeout=15000)
    db.session.rollback()
    scans = db.session.execute(
        select(ScanEvent.method, ScanEvent.result, ScanEvent.is_offline).order_by(ScanEvent.id)
    ).all()
    db.session.rollback()
    assert [tuple(scan) for scan in scans] == [
        ("qr", "valid", False),
        ("qr", "revoked", False),
        ("code", "valid", False),
        ("qr", "valid", True),
    ]


def test_camera_shows_a_valid_pass_green_with_its_plate(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = issue("沪A12345")
    camera = camera_browser(qr_video(issued.token, tmp_path / "valid.y4m"))

    page = open_scanner(camera, live_server, officer.email, chinese=True)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("#camera-toggle")
    seen = verdict(page, "valid")

    assert seen["tone"] == "ok" and seen["offline"] == "false"
    assert seen["plate"] == "沪A12345"
    assert seen["title"] == i18n(page)["titles"]["valid"]
    assert "王师傅" in seen["facts"] and issued.number in seen["facts"]
    assert page.locator("#verdict .sym-ok").is_visible()
    assert covers_the_screen(page)

    # The camera stops while the page is hidden (another app in front), and comes back.
    set_hidden = """(hidden) => {
        Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate(set_hidden, True)
    assert page.get_attribute("#scanner", "data-camera") == "off"
    assert page.evaluate("document.getElementById('camera-video').srcObject") is None
    page.evaluate(set_hidden, False)
    page.wait_for_selector("#scanner[data-camera=on]")

    # The code still in front of the camera is not checked again and again; the officer
    # closes the verdict and stops the camera.
    page.keyboard.press("Escape")
    page.wait_for_timeout(600)
    assert page.locator("#verdict").is_hidden()
    page.click("#camera-toggle")
    assert page.get_attribute("#scanner", "data-camera") == "off"
    assert page.evaluate("document.getElementById('camera-video').srcObject") is None
    db.session.rollback()
    assert db.session.scalars(select(ScanEvent.result)).all() == ["valid"]


def test_camera_shows_a_revoked_pass_red_with_the_reason(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = issue("沪B20001", revoked_because="车辆信息不符")
    camera = camera_browser(qr_video(issued.token, tmp_path / "revoked.y4m"))

    page = open_scanner(camera, live_server, officer.email, chinese=False)
    page.click("#camera-toggle")
    seen = verdict(page, "revoked")

    assert seen["tone"] == "bad"
    assert seen["title"] == "REVOKED"
    assert seen["reason"].startswith("Revoked")
    assert seen["plate"] == "沪B20001"
    assert page.locator("#verdict .sym-bad").is_visible()


def test_hardware_scanner_and_typed_codes(browser: Any, live_server: str) -> None:
    officer = make_user(Role.CHECKPOINT)
    first = issue("沪A12345")
    second = issue("沪B54321")
    page = open_scanner(browser, live_server, officer.email, chinese=False, viewport=SMALL_PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    for field in ("scanner-input", "code-input", "plate-input"):
        assert page.locator(f"label[for={field}]").is_visible()

    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["start_url"] == manifest["scope"] == "/checkpoint/"
    assert manifest["display"] == "standalone" and manifest["theme_color"] == "#b3261e"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}

    # The scanner field has the focus from the start: the scanner types the QR text.
    assert focused(page) == "scanner-input"
    scan_with_scanner(page, first.token)
    seen = verdict(page, "valid")
    assert seen["plate"] == "沪A12345" and seen["tone"] == "ok"

    # The next scan replaces the verdict: a control code, typed in lower case with a hyphen.
    code = second.control_code.lower()
    scan_with_scanner(page, f"{code[:4]}-{code[4:]}")
    page.wait_for_selector("#verdict-plate:has-text('沪B54321')")
    assert verdict(page, "valid")["plate"] == "沪B54321"

    # A tap anywhere closes it (after the first 0.4 s, which belong to the tap that asked),
    # and the scanner field keeps the focus.
    page.wait_for_timeout(500)
    page.mouse.click(180, 600)
    page.wait_for_selector("#verdict", state="hidden")
    assert focused(page) == "scanner-input"

    # The plate form, with a lower-case plate.
    page.fill("#plate-input", "沪a12345")
    page.click("#plate-form button")
    assert verdict(page, "valid")["plate"] == "沪A12345"
    page.keyboard.press("Escape")
    page.wait_for_selector("#verdict", state="hidden")
    assert focused(page) == "scanner-input"

    # A control code that matches nothing is red.
    page.fill("#code-input", "0000-0000")
    page.click("#code-form button")
    assert verdict(page, "not_found")["tone"] == "bad"

    db.session.rollback()
    methods = db.session.scalars(select(ScanEvent.method).order_by(ScanEvent.id)).all()
    assert methods == ["qr", "code", "plate", "code"]
    db.session.rollback()

    # Logged out in another tab: the page says so, and decides QR codes by itself meanwhile.
    other = page.context.new_page()
    other.goto(f"{live_server}/")
    other.get_by_role("button", name="Log out").click()
    page.keyboard.press("Escape")
    scan_with_scanner(page, first.token)
    seen = verdict(page, "valid")
    assert seen["offline"] == "true" and seen["plate"] == "沪A12345"
    assert page.locator("#session-ended").is_visible()


def test_offline_verdicts_are_decided_on_the_phone_and_uploaded_later(
    browser: Any, live_server: str
) -> None:
    officer = make_user(Role.CHECKPOINT)
    good = issue("沪A12345")
    withdrawn = issue("沪C30003", revoked_because="冒用")

    page = open_scanner(browser, live_server, officer.email, chinese=True)
    page.wait_for_selector("#scanner[data-keys-at][data-revocations-at]")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    wait_until_controlled(page)
    context = page.context
    context.set_offline(True)

    # Without network the page opens from the service worker's copy.
    page.reload()
    page.wait_for_selector("#scanner[data-ready=true]")
    page.wait_for_selector("#net-status[data-online=false]")

    scan_with_scanner(page, good.token)
    seen = verdict(page, "valid")
    assert seen["tone"] == "ok" and seen["offline"] == "true"
    assert seen["plate"] == "沪A12345" and "王师傅" in seen["facts"]
    assert i18n(page)["offline_note"].split("{time}")[0] in seen["notes"]

    scan_with_scanner(page, tampered(good.token))
    assert verdict(page, "malformed")["tone"] == "bad"
    scan_with_scanner(page, forged(good.token, "沪A12345", "沪A99999"))
    assert verdict(page, "bad_signature")["tone"] == "bad"
    scan_with_scanner(page, withdrawn.token)
    assert verdict(page, "revoked")["tone"] == "bad"

    # A control code needs the server: the page says so, and decides nothing.
    page.keyboard.press("Escape")
    page.fill("#code-input", good.control_code)
    page.click("#code-form button")
    page.wait_for_selector('#verdict[data-tone="info"]', state="visible")
    assert page.get_attribute("#verdict", "data-result") == ""
    assert page.inner_text("#verdict-reason") == i18n(page)["offline_code"]
    page.keyboard.press("Escape")
    assert page.get_attribute("#scanner", "data-queue") == "4"

    # A revocation list older than the limit turns a valid pass amber.
    page.evaluate(
        """() => new Promise((resolve, reject) => {
             const open = indexedDB.open('checkpoint');
             open.onsuccess = () => {
               const tx = open.result.transaction('meta', 'readwrite');
               tx.objectStore('meta').put(new Date(Date.now() - 7 * 3600e3).toISOString(),
                                          'refreshedAt');
               tx.oncomplete = () => { open.result.close(); resolve(); };
               tx.onerror = () => reject(tx.error);
             };
           })"""
    )
    page.reload()
    page.wait_for_selector("#scanner[data-ready=true]")
    scan_with_scanner(page, good.token)
    seen = verdict(page, "valid")
    assert seen["tone"] == "warn" and seen["title"] == i18n(page)["title_warning"]
    assert page.locator("#verdict .sym-warn").is_visible()
    page.keyboard.press("Escape")

    # Back online: the five offline scans are uploaded, once.
    context.set_offline(False)
    page.wait_for_selector("#scanner[data-queue='0']", timeout=15000)
    db.session.rollback()
    offline = db.session.execute(
        select(ScanEvent.result, Pass.number)
        .outerjoin(Pass, Pass.id == ScanEvent.pass_id)
        .where(ScanEvent.is_offline.is_(True))
        .order_by(ScanEvent.scanned_at)
    ).all()
    assert [tuple(row) for row in offline] == [
        ("valid", good.number),
        ("malformed", None),
        ("bad_signature", None),
        ("revoked", withdrawn.number),
        ("valid", good.number),
    ]


def test_the_page_verifier_passes_every_conformance_vector(browser: Any, live_server: str) -> None:
    page = new_page(browser, locale="en-US", viewport=PHONE)
    page.goto(f"{live_server}/login")
    vectors = [
        json.loads(path.read_text())
        for path in sorted((project_root() / "tests/vectors").glob("*.json"))
    ]
    answers = page.evaluate(
        """async (vectors) => {
             const pp1 = await import('/static/js/pp1.js');
             const out = [];
             for (const v of vectors) {
               const keys = await pp1.importKeys({keys: v.public_keys});
               const got = await pp1.verify(v.token, keys, v.now);
               out.push({result: got.result, claims: got.claims || null});
             }
             // Any text at all gets one of the service's results, never an exception.
             const results = new Set(['valid', 'expired', 'not_yet_valid', 'revoked',
               'bad_signature', 'unknown_key', 'malformed', 'wrong_prefix', 'not_found']);
             const keys = await pp1.importKeys({keys: vectors[0].public_keys});
             const text = vectors.find(v => v.expected === 'valid').token;
             for (let i = 4; i < text.length; i += 7) {
               for (const c of ['0', 'Z', ':', ' ', 'a', '沪']) {
                 const got = await pp1.verify(text.slice(0, i) + c + text.slice(i + 1), keys, 0);
                 if (!results.has(got.result)) out.push({result: 'unexpected ' + got.result});
               }
             }
             for (const odd of ['', 'PP1:', 'PP1:NCF', 'PP1:' + 'A'.repeat(9000), null]) {
               if (!results.has((await pp1.verify(odd, keys, 0)).result)) out.push({result: odd});
             }
             return out;
           }""",
        vectors,
    )
    assert len(vectors) >= 13
    assert answers[len(vectors) :] == []
    for vector, answer in zip(vectors, answers[: len(vectors)], strict=True):
        assert answer["result"] == vector["expected"], vector["description"]
        if vector.get("claims"):
            assert answer["claims"] == vector["claims"], vector["description"]


def test_a_shared_phone_uploads_each_officers_offline_scans_under_their_own_name(
    browser: Any, live_server: str
) -> None:
    first, second = make_user(Role.CHECKPOINT), make_user(Role.CHECKPOINT)
    good = issue("沪A12345")
    # Plain values: reading a model attribute later would open a transaction (and, outside a
    # request, take SQLite's write lock) while the browser needs it.
    first_email, first_id, good_id = first.email, first.id, good.id
    second_email = second.email

    page = open_scanner(browser, live_server, first_email, chinese=True)
    page.wait_for_selector("#scanner[data-keys-at][data-revocations-at]")
    page.context.set_offline(True)
    scan_with_scanner(page, good.token)
    verdict(page, "valid")
    page.keyboard.press("Escape")
    assert page.get_attribute("#scanner", "data-queue") == "1"

    # The first officer's session ends before the network returns; a colleague logs in on the
    # same phone: the same local storage (where the queue is), no session cookie.
    def same_phone_without_session(page: Any) -> Any:
        page.wait_for_load_state("networkidle")  # no file left half-served when it closes
        state = page.context.storage_state()
        state["cookies"] = []
        page.context.close()
        context = browser.new_context(locale="zh-CN", viewport=PHONE, storage_state=state)
        return context.new_page()

    page = same_phone_without_session(page)
    log_in(page, live_server, second_email, ZH_PHONE)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")
    page.wait_for_selector("#scanner[data-queue='0']")
    db.session.rollback()
    offline = select(ScanEvent.user_id, ScanEvent.pass_id).where(ScanEvent.is_offline.is_(True))
    # (The first officer's page may already have sent it, as theirs; never under the colleague.)
    assert [row for row in db.session.execute(offline) if row.user_id != first_id] == []
    db.session.rollback()

    # Back as the first officer: the scan is uploaded, as theirs.
    page = same_phone_without_session(page)
    log_in(page, live_server, first_email, ZH_PHONE)
    page.goto(f"{live_server}/checkpoint/")
    uploaded: list[tuple[int, int]] = []
    for _ in range(60):  # the page uploads its queue shortly after it opens
        db.session.rollback()
        uploaded = [tuple(row) for row in db.session.execute(offline)]
        db.session.rollback()
        if uploaded:
            break
        page.wait_for_timeout(250)
    assert uploaded == [(first_id, good_id)]


# --- The camera without network (issue 26) ---------------------------------------------------


def record_latency(page: Any) -> None:
    """Notes, in the page, when each camera frame is shown and when each verdict appears."""
    page.evaluate(
        """() => {
             window.__frames = []; window.__verdicts = [];
             const video = document.getElementById('camera-video');
             const onFrame = () => { __frames.push(performance.now());
                                     video.requestVideoFrameCallback(onFrame); };
             video.requestVideoFrameCallback(onFrame);
             const box = document.getElementById('verdict');
             new MutationObserver(() => { if (box.dataset.result)
                 __verdicts.push([performance.now(), box.dataset.result]); })
               .observe(box, {attributes: true, attributeFilter: ['data-result']});
           }"""
    )


def latencies_ms(page: Any) -> list[float]:
    """For each verdict: the time since the camera frame that brought a new code on screen."""
    frames, verdicts = page.evaluate("[window.__frames, window.__verdicts]")
    return [
        at - max(f for f in frames if f <= at) for at, _ in verdicts if frames and frames[0] <= at
    ]


def verdict_at_once(page: Any, result: str) -> dict[str, str]:
    """The verdict of `result`, read in one step: the slideshow's next code replaces it half a
    second later, which could come between the reads of verdict()."""
    read = """() => { const box = document.getElementById('verdict');
                      return box.hidden ? null : {...box.dataset,
                        plate: document.getElementById('verdict-plate').innerText}; }"""
    for _ in range(150):
        seen = page.evaluate(read)
        if seen and seen["result"] == result:
            return dict(seen)
        page.wait_for_timeout(100)
    raise AssertionError(f"no {result} verdict")


def test_the_camera_first_started_without_network_reads_valid_and_revoked_passes(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    good = issue("沪A12345")
    withdrawn = issue("沪B20001", revoked_because="车辆信息不符")
    camera = camera_browser(qr_slideshow([good.token, withdrawn.token], tmp_path / "two.y4m"))
    # Used once with network (log-in, keys, revocations, the app shell), camera never started.
    page = open_scanner(camera, live_server, officer.email, chinese=True)
    page.wait_for_selector("#scanner[data-keys-at][data-revocations-at]")
    wait_until_controlled(page)
    context = page.context
    page.close()

    # In airplane mode the scanner is opened afresh, and the camera started for the first time.
    context.set_offline(True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")
    record_latency(page)
    page.get_by_role("button", name="打开摄像头").click()
    seen = verdict_at_once(page, "valid")
    assert (seen["tone"], seen["offline"], seen["plate"]) == ("ok", "true", "沪A12345")
    seen = verdict_at_once(page, "revoked")
    assert (seen["tone"], seen["offline"], seen["plate"]) == ("bad", "true", "沪B20001")
    assert page.locator("#camera-alert").is_hidden()

    # The phone put to sleep (the page hidden) and woken: the camera comes back and reads on.
    set_hidden = """(hidden) => {
        Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
        document.dispatchEvent(new Event('visibilitychange')); }"""
    page.evaluate(set_hidden, True)
    assert page.get_attribute("#scanner", "data-camera") == "off"
    page.evaluate(set_hidden, False)
    page.wait_for_selector("#scanner[data-camera=on]")
    verdict_at_once(page, "valid")
    latencies = latencies_ms(page)
    print(f"camera started offline, QR on screen → verdict, ms: {sorted(latencies)}")


def test_the_camera_started_online_reads_again_after_a_reload_without_network(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = issue("沪A12345")
    camera = camera_browser(qr_video(issued.token, tmp_path / "valid.y4m"))
    page = open_scanner(camera, live_server, officer.email, chinese=False)
    page.click("#camera-toggle")
    assert verdict(page, "valid")["offline"] == "false"
    page.wait_for_selector("#scanner[data-keys-at][data-revocations-at]")
    wait_until_controlled(page)

    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("#scanner[data-ready=true]")
    page.get_by_role("button", name="Start camera").click()
    seen = verdict(page, "valid")
    assert (seen["tone"], seen["offline"], seen["plate"]) == ("ok", "true", "沪A12345")


def test_a_decoder_that_cannot_start_says_so_and_starts_by_itself_later(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = issue("沪A12345")
    camera = camera_browser(qr_video(issued.token, tmp_path / "valid.y4m"))
    # No service worker here: its cache would answer for the network that the route takes away.
    page = new_page(camera, locale="en-US", viewport=PHONE, service_workers="block")
    page.route("**/checkpoint/qr-worker.js", lambda route: route.abort("internetdisconnected"))
    log_in(page, live_server, officer.email, EN_DESKTOP)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")

    # The scanner field works without the decoder.
    scan_with_scanner(page, issued.token)
    assert verdict(page, "valid")["plate"] == "沪A12345"
    page.keyboard.press("Escape")

    # The officer starts the camera: it cannot read codes, and the page says so beside it.
    page.click("#camera-toggle")
    alert = page.locator("#camera-alert")
    alert.wait_for(state="visible")
    assert alert.get_attribute("role") == "alert"
    assert "hardware scanner field" in alert.inner_text()
    assert "control code" in alert.inner_text()
    check_accessibility(page, "camera without decoder")

    # The decoder can load again: the page starts it by itself, and the camera reads.
    page.unroute("**/checkpoint/qr-worker.js")
    started = time.monotonic()
    page.wait_for_selector("#scanner[data-decoder=ready]", timeout=35000)
    print(f"decoder started again {time.monotonic() - started:.1f} s after it could")
    alert.wait_for(state="hidden")
    assert verdict(page, "valid")["offline"] == "false"


def test_a_decoder_that_stops_answering_is_said_and_replaced(
    live_server: str, camera_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = issue("沪A12345")
    camera = camera_browser(qr_video(issued.token, tmp_path / "valid.y4m"))
    page = new_page(camera, locale="en-US", viewport=PHONE, service_workers="block")
    # A decoder that starts, then never answers a frame (as one stopped under the page would).
    mute = "self.postMessage({ready: true}); self.onmessage = () => {};"
    page.route(
        "**/checkpoint/qr-worker.js",
        lambda route: route.fulfill(body=mute, content_type="application/javascript"),
    )
    log_in(page, live_server, officer.email, EN_DESKTOP)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-decoder=ready]")
    page.click("#camera-toggle")
    page.locator("#camera-alert").wait_for(state="visible")

    page.unroute("**/checkpoint/qr-worker.js")
    assert verdict(page, "valid")["plate"] == "沪A12345"
    assert page.locator("#camera-alert").is_hidden()
