"""POST /api/v1/applications/batch: a dispatch system sends many vehicles at once with an
enterprise token and is answered item by item; valid items become drafts of one batch."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Application, ApplicationBatch, Role
from permits.services import applications
from tests.api_helpers import Api
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    make_approver,
    make_pass,
    make_user,
    unique_id_number,
    vehicle_fields,
)


def count(model: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_valid_items_become_drafts_of_one_batch_and_each_item_is_answered_in_order(
    client: FlaskClient,
) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    items = [
        vehicle_fields(plate="沪A11111"),
        vehicle_fields(plate="沪O1234"),
        {"kind": "vehicle_pass", **vehicle_fields(plate="沪A33333")},
        "not an object",
        {"kind": "work_resumption"},
    ]
    response = api.post("/applications/batch", {"applications": items})

    assert response.status_code == 200
    body = response.get_json()
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r.get("status") for r in results] == ["draft", None, "draft", None, None]
    assert results[1]["id"] is None and set(results[1]["fields"]) == {"plate"}
    assert set(results[3]["fields"]) == {"body"} and set(results[4]["fields"]) == {"kind"}
    batch = db.session.get(ApplicationBatch, body["batch"])
    assert batch is not None and batch.source == "api"
    assert [a.id for a in batch.applications] == [results[0]["id"], results[2]["id"]]
    assert [a.plate for a in batch.applications] == ["沪A11111", "沪A33333"]
    assert count(Application) == 2


def test_the_batch_validates_exactly_as_the_single_call(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    bad = vehicle_fields(origin="123456", cargo_category="gold", valid_until="someday")
    single = api.post("/applications", {"kind": "vehicle_pass", **bad}).get_json()["fields"]
    batched = api.post("/applications/batch", {"applications": [bad]}).get_json()
    assert batched["results"][0]["fields"] == single
    assert batched["batch"] is None and count(ApplicationBatch) == 0


def test_a_plate_or_driver_repeated_within_the_batch_is_refused_naming_the_earlier_item(
    client: FlaskClient,
) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    driver = {"name": "钱师傅", "id_number": unique_id_number(), "phone": "13900003333"}
    items = [
        vehicle_fields(plate="沪A11111", drivers=[driver]),
        vehicle_fields(plate="沪A11111"),
        vehicle_fields(plate="沪A22222", drivers=[driver]),
    ]
    results = api.post("/applications/batch", {"applications": items}).get_json()["results"]
    assert results[0]["status"] == "draft"
    assert set(results[1]["fields"]) == {"plate"} and "第 0 项" in results[1]["fields"]["plate"]
    assert set(results[2]["fields"]) == {"drivers.0.id_number"}
    assert "第 0 项" in results[2]["fields"]["drivers.0.id_number"]
    assert count(Application) == 1


def test_an_item_whose_vehicle_already_holds_a_pass_names_that_pass(client: FlaskClient) -> None:
    user = make_user(Role.ENTERPRISE)
    issued = make_pass(user, plate="沪A55555")
    api = Api(client, user)
    results = api.post(
        "/applications/batch", {"applications": [vehicle_fields(plate="沪A55555")]}
    ).get_json()["results"]
    assert results[0]["id"] is None and issued.number in results[0]["fields"]["plate"]


@pytest.mark.parametrize(
    "body",
    [
        {"applications": [vehicle_fields() for _ in range(501)]},
        {"applications": []},
        {"applications": {"plate": "沪A11111"}},
        [vehicle_fields()],
        {},
    ],
    ids=["501 items", "empty", "not a list", "a bare list", "no applications"],
)
def test_a_body_that_is_not_a_list_of_at_most_500_is_refused_whole(
    client: FlaskClient, body: Any
) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    response = api.post("/applications/batch", body)
    assert response.status_code == 422
    assert "applications" in response.get_json()["fields"]
    assert count(Application) == 0 and count(ApplicationBatch) == 0


def test_only_enterprise_accounts_send_batches(client: FlaskClient) -> None:
    api = Api(client, make_approver("commerce", "310115"))
    response = api.post("/applications/batch", {"applications": [vehicle_fields()]})
    assert response.status_code == 403
    assert count(Application) == 0


def test_an_unexpected_failure_midway_writes_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    real = applications.create_draft
    calls = iter(range(100))

    def failing_on_the_third(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(applications, "create_draft", failing_on_the_third)
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    items = [vehicle_fields() for _ in range(4)]
    response = api.post("/applications/batch", {"applications": items})
    assert response.status_code == 500
    assert count(Application) == 0 and count(ApplicationBatch) == 0


def test_a_token_made_on_the_profile_page_sends_a_batch_until_it_is_revoked(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE)
    browser = app.test_client()
    assert login(browser, user.email, PASSWORD).status_code == 302
    created = browser.post(
        "/account/tokens", data={"name": "调度系统", "csrf_token": csrf_token(browser, "/account/")}
    )
    assert created.status_code == 201
    page = created.get_data(as_text=True)
    plain = re.search(r'id="new-token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    system = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    body = {"applications": [vehicle_fields()]}
    assert system.post("/api/v1/applications/batch", json=body, headers=headers).status_code == 200

    profile = browser.get("/account/").get_data(as_text=True)
    assert plain not in profile  # shown once only
    token_id = re.search(r"/account/tokens/(\d+)/revoke", profile).group(1)  # type: ignore[union-attr]
    revoked = browser.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(browser, "/account/")}
    )
    assert revoked.status_code == 302
    body = {"applications": [vehicle_fields()]}
    assert system.post("/api/v1/applications/batch", json=body, headers=headers).status_code == 401
    assert count(Application) == 1


def test_another_enterprise_cannot_see_the_batchs_applications(client: FlaskClient) -> None:
    owner = Api(client, make_user(Role.ENTERPRISE))
    results = owner.post(
        "/applications/batch", {"applications": [vehicle_fields(), vehicle_fields()]}
    ).get_json()["results"]
    ids = [r["id"] for r in results]

    stranger = Api(client, make_user(Role.ENTERPRISE))
    for app_id in ids:
        assert owner.get(f"/applications/{app_id}").status_code == 200
        assert stranger.get(f"/applications/{app_id}").status_code == 404
    assert stranger.get("/applications").get_json()["items"] == []


def test_five_hundred_vehicles_are_accepted_in_one_call(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    items = [vehicle_fields(plate=f"沪D{i:05d}") for i in range(500)]
    results = api.post("/applications/batch", {"applications": items}).get_json()["results"]
    assert [r["status"] for r in results] == ["draft"] * 500
    assert count(Application) == 500
