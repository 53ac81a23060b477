"""Real-browser fixtures: Debian's chromium driven by Playwright, against a live server thread.

Skipped when chromium is not installed, unless PERMITS_TEST_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
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


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on a free port, as a browser needs it."""
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def new_page(browser: Any, *, locale: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(locale=locale, viewport=viewport)
    return context.new_page()


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
