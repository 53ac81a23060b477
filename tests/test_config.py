"""Configuration: one load order, and no production start without a real secret key."""

from __future__ import annotations

from pathlib import Path

import pytest

from permits import create_app
from permits.config import DEV_SECRET_KEY, Defaults

LONG_KEY = "k" * 40


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A separate instance folder, so the tests never read the developer's own config."""
    import permits

    monkeypatch.setattr(permits, "ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    for name in list(__import__("os").environ):
        if name.startswith("PERMITS_"):
            monkeypatch.delenv(name)
    return tmp_path / "instance"


def test_defaults_then_instance_file_then_environment_then_test_config(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance / "config.py").write_text(
        'TIMEZONE = "Asia/Urumqi"\nCITY_CODE = "320100"\nPASSWORD_MIN_LENGTH = 12\n'
    )
    monkeypatch.setenv("PERMITS_CITY_CODE", "330100")
    monkeypatch.setenv("PERMITS_PASSWORD_MIN_LENGTH", "14")
    app = create_app({"TESTING": True, "PASSWORD_MIN_LENGTH": 16})
    assert app.config["MAX_CONTENT_LENGTH"] == Defaults.MAX_CONTENT_LENGTH  # default
    assert app.config["TIMEZONE"] == "Asia/Urumqi"  # instance file
    assert app.config["CITY_CODE"] == "330100"  # environment beats the file
    assert app.config["PASSWORD_MIN_LENGTH"] == 16  # test config beats the environment


def test_environment_values_are_parsed_as_json(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMITS_RATELIMIT_ENABLED", "false")
    app = create_app({"TESTING": True})
    assert app.config["RATELIMIT_ENABLED"] is False


def test_default_database_is_sqlite_in_the_instance_folder(instance: Path) -> None:
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'permits.sqlite3'}"


def test_a_postgresql_url_selects_psycopg(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMITS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/permits")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_production_refuses_to_start_without_a_real_secret_key(instance: Path) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": "short"})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": DEV_SECRET_KEY})


def test_production_starts_with_a_key_from_the_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMITS_SECRET_KEY", LONG_KEY)
    assert create_app().config["SECRET_KEY"] == LONG_KEY


def test_production_starts_with_the_key_file_make_run_writes(instance: Path) -> None:
    (instance / "secret_key").write_text(LONG_KEY + "\n")
    assert create_app().config["SECRET_KEY"] == LONG_KEY


def test_https_setting_hardens_the_session_cookie(instance: Path) -> None:
    app = create_app({"TESTING": True, "HTTPS": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_readme_documents_every_setting_an_operator_sets() -> None:
    from tests.conftest import project_root

    internal = {
        "LANGUAGES",
        "BABEL_DEFAULT_TIMEZONE",
        "REMEMBER_COOKIE_DURATION",
        "WTF_CSRF_TIME_LIMIT",
        "RATELIMIT_HEADERS_ENABLED",
    }
    readme = (project_root() / "README.md").read_text()
    for name in vars(Defaults):
        if not name.isupper() or name in internal or name.startswith(("SQLALCHEMY_", "SESSION_")):
            continue
        assert f"`PERMITS_{name}`" in readme, name


def test_the_cli_refuses_a_missing_secret_key_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import project_root

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERMITS_", "FLASK_"))}
    env.update(PERMITS_SECRET_KEY="", PERMITS_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run(
        [str(flask), "--app", "wsgi", "users", "token", "nobody@example.com"],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "SECRET_KEY" in result.stderr
