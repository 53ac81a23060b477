"""The package as production installs it ships the compiled Chinese catalogue (.mo files are
built, not committed): the build compiles them, and a start without them compiles them."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from babel.support import Translations

from permits import catalogues, create_app
from tests.conftest import project_root, test_config

#: What a source checkout holds that the build does not need (and the compiled catalogues).
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "*.mo", "__pycache__", "*.egg-info", "build", "dist", "instance",
    "docs", "tests", "bench", ".*_cache", "node_modules",
)  # fmt: skip


def run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A wheel built the production way from a fresh copy of the tree without any .mo file."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "src"
    shutil.copytree(project_root(), source, ignore=NOT_COPIED)
    assert not list(source.rglob("*.mo"))
    # No build isolation: the build requirements (setuptools, wheel, Babel) are those of the
    # test environment, so nothing is downloaded.
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "-q", "-w", tmp / "dist", source, cwd=tmp)  # fmt: skip
    (wheel,) = (tmp / "dist").glob("permits-*.whl")
    return source, wheel


@pytest.mark.packaging
def test_the_wheel_ships_the_compiled_chinese_catalogue(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        mo = archive.read("permits/translations/zh/LC_MESSAGES/messages.mo")
    assert Translations(fp=io.BytesIO(mo)).gettext("Log in") == "登录"


@pytest.mark.packaging
def test_the_installed_package_speaks_chinese(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Installed into a fresh virtualenv (dependencies borrowed from this one), run elsewhere."""
    _, wheel = built
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).strip())  # fmt: skip
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel, cwd=tmp_path)  # fmt: skip
    script = (
        "import permits, flask_babel\n"
        f"assert permits.__file__.startswith({str(venv)!r}), permits.__file__\n"
        f"app = permits.create_app({test_config('sqlite://', KEYS_DIR=str(tmp_path))!r})\n"
        "with app.test_request_context(headers={'Accept-Language': 'zh-CN'}):\n"
        "    print(flask_babel.gettext('Log in'))\n"
    )
    assert run(python, "-c", script, cwd=tmp_path).strip() == "登录"


@pytest.mark.packaging
def test_the_built_checkout_serves_the_login_page_in_chinese(built: tuple[Path, Path]) -> None:
    """The docs' way: install from the checkout, then serve it (`flask --app wsgi`) from there."""
    source, _ = built
    script = (
        "import permits\n"
        f"assert permits.__file__.startswith({str(source)!r}), permits.__file__\n"
        f"app = permits.create_app({test_config('sqlite://', KEYS_DIR=str(source))!r})\n"
        "page = app.test_client().get('/login', headers={'Accept-Language': 'zh-CN'})\n"
        "print(page.get_data(as_text=True))\n"
    )
    assert "<h1>登录</h1>" in run(sys.executable, "-c", script, cwd=source)


def test_a_start_without_the_catalogue_compiles_it_and_says_so(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    translations = tmp_path / "translations"
    shutil.copytree(catalogues.TRANSLATIONS, translations, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogues, "TRANSLATIONS", translations)
    with caplog.at_level(logging.WARNING):
        create_app(test_config(migrated))
    mo = translations / "zh" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as compiled:
        assert Translations(fp=compiled).gettext("Log in") == "登录"
    assert f"compiled {mo}" in caplog.text


def test_a_catalogue_that_cannot_be_compiled_is_logged_as_an_error(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only package folder: the app still starts, and the log says why it is English."""
    translations = tmp_path / "translations"
    shutil.copytree(catalogues.TRANSLATIONS, translations, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogues, "TRANSLATIONS", translations)

    def read_only(po: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(po.parent))

    monkeypatch.setattr(catalogues, "compile_catalogue", read_only)
    with caplog.at_level(logging.ERROR):
        create_app(test_config(migrated))
    assert "falls back to English" in caplog.text
    assert "messages.mo is missing" in caplog.text
