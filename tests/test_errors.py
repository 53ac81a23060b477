"""Unexpected failures: a friendly page or a JSON 500, nothing half-written, nothing leaked."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Enterprise
from permits.permissions import public
from permits.services import organisations
from tests.factories import make_uscc


@pytest.fixture
def failing_routes(app: Flask) -> Flask:
    @app.post("/boom")
    @public
    def boom() -> str:
        organisations.create_enterprise(
            organisations.EnterpriseDetails(uscc=make_uscc(), name="半途", district="310115")
        )
        raise RuntimeError("secret internal detail")

    @app.post("/api/v1/boom")
    @public
    def api_boom() -> object:
        organisations.create_enterprise(
            organisations.EnterpriseDetails(uscc=make_uscc(), name="半途", district="310115")
        )
        raise RuntimeError("secret internal detail")

    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_a_crash_shows_a_friendly_page_and_writes_nothing(
    failing_routes: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = failing_routes.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.post("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret internal detail" not in page and "Traceback" not in page
    assert "secret internal detail" in caplog.text  # but it is logged for the operator
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_a_crash_under_the_api_is_a_json_500(failing_routes: Flask) -> None:
    response = failing_routes.test_client().post("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0
