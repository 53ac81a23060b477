"""Real-browser fixtures: Debian's chromium driven by Playwright, against a live server thread.

Skipped when chromium is not installed, unless PERMITS_TEST_REQUIRE_BROWSER=1 (as in CI).
PERMITS_SCREENSHOTS=1 makes the journeys write their screenshots to docs/screenshots/ (another
value: to that directory); off by default, so test runs do not churn the committed images.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = (
    os.environ.get("PERMITS_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: What the issue counts as a failure; "moderate" and "minor" findings are not.
AXE_FAILING_IMPACTS = ("critical", "serious")


@dataclass(frozen=True)
class Setting:
    """One run of a journey: the browser's language and the screen it is on."""

    lang: str
    locale: str
    viewport: dict[str, int]
    device: str

    def t(self, zh: str, en: str) -> str:
        """The text the page shows in this run's language."""
        return zh if self.lang == "zh" else en


ZH_PHONE = Setting("zh", "zh-CN", PHONE, "phone")
EN_DESKTOP = Setting("en", "en-US", DESKTOP, "desktop")
#: Every journey runs once in Chinese on a phone and once in English on a desktop.
SETTINGS = pytest.mark.parametrize(
    "setting", [ZH_PHONE, EN_DESKTOP], ids=["zh-phone", "en-desktop"]
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("PERMITS_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"chromium not found at {CHROMIUM}")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def answered_whole(app: Flask) -> Callable[[dict[str, Any], Any], list[bytes]]:
    """The app with each answer read and closed before it is sent. Werkzeug's development
    server skips closing an answer when the browser drops the connection while it drains the
    request (a service worker cancelling an icon's fetch, say): the static file's handle was
    then left to the garbage collector, whose ResourceWarning failed a later test."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on a free port, as a browser needs it."""
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, answered_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def new_page(browser: Any, *, locale: str, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(locale=locale, viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def setting_page(browser: Any, setting: Setting, **options: Any) -> Any:
    return new_page(browser, locale=setting.locale, viewport=setting.viewport, **options)


def check_accessibility(page: Any, screen: str) -> None:
    """Runs axe-core on the page as it is now: no critical or serious violations.

    axe is evaluated through the DevTools protocol (page.evaluate), which the page's
    Content-Security-Policy does not govern, so the app's CSP stays on for the whole journey;
    a <script> tag (add_script_tag) would be refused by script-src, and bypass_csp would also
    hide a page that breaks its own CSP.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async (impacts) => {
             const results = await axe.run(document, {resultTypes: ['violations']});
             return results.violations
               .filter(v => impacts.includes(v.impact))
               .map(v => `${v.impact} ${v.id}: ${v.help} at `
                         + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', '));
           }""",
        list(AXE_FAILING_IMPACTS),
    )
    assert violations == [], f"axe on {screen} ({page.url}):\n" + "\n".join(violations)


def screenshots_dir() -> Path | None:
    wanted = os.environ.get("PERMITS_SCREENSHOTS") or os.environ.get("PERMITS_TEST_SCREENSHOTS")
    if not wanted:
        return None
    if wanted == "1":
        return Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    return Path(wanted)


def snap(page: Any, name: str, *, full_page: bool = False) -> None:
    """A screenshot of the page as `name`.png, when screenshots are asked for."""
    folder = screenshots_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the top of the screen, as it first opens
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def log_in(page: Any, base: str, email: str, setting: Setting) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label(setting.t("电子邮箱", "Email")).fill(email)
    page.get_by_label(setting.t("密码", "Password")).fill(PASSWORD)
    page.get_by_role("button", name=setting.t("登录", "Log in")).click()
    page.wait_for_selector(".whoami")


@pytest.fixture
def camera_browser(browser: Any) -> Iterator[Callable[[Path], Any]]:
    """Launches a chromium whose fake camera shows a .y4m file (one file per launch, as chromium
    reads it at start); every one launched is closed after the test."""
    launched: list[Any] = []

    def launch(video: Path) -> Any:
        fake_camera = [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video.resolve()}",
        ]
        launched.append(
            browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + fake_camera)
        )
        return launched[-1]

    yield launch
    for camera in launched:
        camera.close()
