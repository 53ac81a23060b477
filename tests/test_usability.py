"""What a new user noticed on their first day: the words, the next step and what a screen offers."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from permits.models import Role
from tests.api_helpers import Api
from tests.factories import make_user, service_today, vehicle_fields, work_fields


def test_the_longest_validity_message_names_a_pass_for_a_vehicle_and_a_permit_for_a_site(
    app: Flask,
) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    api = Api(client, make_user(Role.ENTERPRISE))
    too_late = (service_today() + timedelta(days=60)).isoformat()

    vehicle = api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields(valid_until=too_late)}
    )
    assert (
        vehicle.get_json()["fields"]["valid_until"]
        == "通行证有效期最长为 30 天，请选择更早的结束日期。"
    )
    site = api.post(
        "/applications", {"kind": "work_resumption", **work_fields(valid_until=too_late)}
    )
    assert (
        site.get_json()["fields"]["valid_until"] == "证明有效期最长为 30 天，请选择更早的结束日期。"
    )
