"""Applying and deciding through the API: both kinds end to end, with every comment kept."""

from __future__ import annotations

import io
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient

from permits import audit
from permits.mail import outbox
from permits.models import Role
from tests.api_helpers import Api
from tests.factories import (
    PDF,
    make_approver,
    make_enterprise,
    make_id_number,
    make_user,
    vehicle_fields,
    work_fields,
)


def decide(api: Api, app_id: int, decision: str, comment: str = "", **extra: str):  # type: ignore[no-untyped-def]
    return api.post(
        f"/applications/{app_id}/decisions", {"decision": decision, "comment": comment, **extra}
    )


def test_vehicle_pass_journey_with_a_return_keeps_every_comment(client: FlaskClient) -> None:
    enterprise_api = Api(client, make_user(Role.ENTERPRISE))
    district = Api(client, make_approver("commerce", "310115", name="浦东商务委 李审批"))
    city = Api(client, make_approver("transport", "city", name="市交通委 张审批"))

    created = enterprise_api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields()})
    assert created.status_code == 201, created.get_json()
    app_id = created.get_json()["id"]
    assert created.get_json()["status"] == "draft"

    submitted = enterprise_api.post(f"/applications/{app_id}/submit")
    assert submitted.status_code == 200
    assert submitted.get_json()["status"] == "in_review"
    assert submitted.get_json()["step"]["department"] == "commerce"
    assert submitted.get_json()["step"]["scope"] == "310115"

    returned = decide(district, app_id, "return", "请补充冷链检测报告")
    assert returned.status_code == 201
    assert returned.get_json()["application"]["status"] == "returned"

    fixed = enterprise_api.patch(f"/applications/{app_id}", {"plate": "沪AD12345"})
    assert fixed.status_code == 200 and fixed.get_json()["plate"] == "沪AD12345"
    assert enterprise_api.post(f"/applications/{app_id}/submit").status_code == 200

    assert decide(district, app_id, "approve", "材料齐全").status_code == 201
    final = decide(city, app_id, "approve")
    assert final.status_code == 201
    assert final.get_json()["application"]["status"] == "approved"

    history = enterprise_api.get(f"/applications/{app_id}").get_json()["history"]
    assert [(h["action"], h["round"], h["step"]) for h in history] == [
        ("submit", 1, None),
        ("return", 1, 1),
        ("submit", 2, None),
        ("approve", 2, 1),
        ("approve", 2, 2),
    ]
    assert history[1]["comment"] == "请补充冷链检测报告"
    assert history[1]["department"] == {"code": "commerce", "scope": "310115"}
    # Approvers see the earlier round's comment too.
    assert "请补充冷链检测报告" in str(city.get(f"/applications/{app_id}").get_json()["history"])


def test_work_resumption_journey(client: FlaskClient) -> None:
    enterprise_api = Api(
        client, make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104"))
    )
    district = Api(client, make_approver("economy", "310104"))
    city = Api(client, make_approver("economy", "city"))

    fields = work_fields(district="310104")
    app_id = enterprise_api.post("/applications", {"kind": "work_resumption", **fields}).get_json()[
        "id"
    ]
    refused = enterprise_api.post(f"/applications/{app_id}/submit")
    assert refused.status_code == 422
    assert "prevention_plan" in refused.get_json()["fields"]

    upload = enterprise_api.post(
        f"/applications/{app_id}/attachments",
        data={"purpose": "prevention_plan", "file": (io.BytesIO(PDF), "防控方案.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    assert enterprise_api.post(f"/applications/{app_id}/submit").get_json()["step"] == {
        **enterprise_api.get(f"/applications/{app_id}").get_json()["step"]
    }
    assert decide(district, app_id, "approve").status_code == 201
    assert decide(city, app_id, "approve").get_json()["application"]["status"] == "approved"


def test_bad_plate_id_number_and_county_code_each_get_their_own_message(
    client: FlaskClient,
) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    good_id = make_id_number()
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    response = api.post(
        "/applications",
        {
            "kind": "vehicle_pass",
            **vehicle_fields(
                plate="沪I12345",
                origin="999999",
                drivers=[{"name": "王师傅", "id_number": bad_id, "phone": "13900001111"}],
            ),
        },
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"plate", "origin", "drivers.0.id_number"}
    assert len({fields["plate"], fields["origin"], fields["drivers.0.id_number"]}) == 3


def test_new_energy_plates_and_lower_case_are_accepted(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    for plate, stored in (
        ("沪ad12345", "沪AD12345"),
        ("沪A 12345F", "沪A12345F"),
        ("苏E·A1234", "苏EA1234"),
    ):
        response = api.post(
            "/applications", {"kind": "vehicle_pass", **vehicle_fields(plate=plate)}
        )
        assert response.status_code == 201, (plate, response.get_json())
        assert response.get_json()["plate"] == stored


def test_dates_are_checked(client: FlaskClient, app: Flask) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    today = date.today()
    cases = {
        "valid_from": vehicle_fields(valid_from=(today - timedelta(days=2)).isoformat()),
        "valid_until": vehicle_fields(
            valid_from=(today + timedelta(days=3)).isoformat(),
            valid_until=(today + timedelta(days=1)).isoformat(),
        ),
    }
    for field, fields in cases.items():
        response = api.post("/applications", {"kind": "vehicle_pass", **fields})
        assert response.status_code == 422
        assert field in response.get_json()["fields"], response.get_json()
    too_long = vehicle_fields(valid_until=(today + timedelta(days=60)).isoformat())
    response = api.post("/applications", {"kind": "vehicle_pass", **too_long})
    assert "valid_until" in response.get_json()["fields"]
    not_a_date = api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields(valid_from="tomorrow")}
    )
    assert "valid_from" in not_a_date.get_json()["fields"]


def test_a_draft_may_be_incomplete_but_submit_names_what_is_missing(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    created = api.post("/applications", {"kind": "vehicle_pass", "plate": "沪A12345"})
    assert created.status_code == 201
    response = api.post(f"/applications/{created.get_json()['id']}/submit")
    assert response.status_code == 422
    assert {
        "vehicle_type",
        "drivers",
        "origin",
        "destination",
        "cargo_category",
        "valid_from",
        "valid_until",
    } <= set(response.get_json()["fields"])


def test_unknown_fields_and_attempts_to_set_the_status_are_refused(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    response = api.post(
        "/applications",
        {"kind": "vehicle_pass", "status": "approved", "enterprise_id": 1, **vehicle_fields()},
    )
    assert response.status_code == 422
    assert {"status", "enterprise_id"} <= set(response.get_json()["fields"])
    assert api.post("/applications", {"kind": "pizza"}).status_code == 422
    assert api.post("/applications", ["not", "an", "object"]).status_code == 422


def test_a_decision_on_an_application_that_moved_on_gets_409(client: FlaskClient) -> None:
    enterprise_api = Api(client, make_user(Role.ENTERPRISE))
    first = Api(client, make_approver("commerce", "310115", name="第一位"))
    second = Api(client, make_approver("commerce", "310115", name="第二位"))
    app_id = enterprise_api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields()}
    ).get_json()["id"]
    enterprise_api.post(f"/applications/{app_id}/submit")
    assert decide(first, app_id, "approve").status_code == 201
    late = decide(second, app_id, "reject", "不符合", reason_code="other")
    assert late.status_code == 409
    assert late.get_json()["error"] == "already_decided"
    assert "第一位" in late.get_json()["message"]
    assert decide(first, app_id, "approve").status_code == 409


def test_return_and_reject_need_a_reason(client: FlaskClient) -> None:
    enterprise_api = Api(client, make_user(Role.ENTERPRISE))
    approver = Api(client, make_approver("commerce", "310115"))
    app_id = enterprise_api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields()}
    ).get_json()["id"]
    enterprise_api.post(f"/applications/{app_id}/submit")
    assert decide(approver, app_id, "return").get_json()["fields"].keys() == {"comment"}
    assert "comment" in decide(approver, app_id, "reject").get_json()["fields"]
    bad_code = decide(approver, app_id, "reject", "理由", reason_code="because")
    assert "reason_code" in bad_code.get_json()["fields"]
    assert decide(approver, app_id, "maybe").status_code == 422
    rejected = decide(approver, app_id, "reject", "不属于保供物资", reason_code="not_key_supply")
    assert rejected.get_json()["application"]["status"] == "rejected"
    assert rejected.get_json()["decision"]["reason_code"] == "not_key_supply"


def test_nobody_signs_two_steps_of_one_application(client: FlaskClient) -> None:
    """One officer holding accounts in both departments still cannot sign both steps."""
    enterprise_api = Api(client, make_user(Role.ENTERPRISE))
    officer = make_approver("commerce", "310115")
    api = Api(client, officer)
    app_id = enterprise_api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields()}
    ).get_json()["id"]
    enterprise_api.post(f"/applications/{app_id}/submit")
    assert decide(api, app_id, "approve").status_code == 201
    # Moved to the city transport department; the same person transferred there:
    from permits.extensions import db
    from tests.factories import make_department

    officer.department_id = make_department("transport", "city").id
    db.session.commit()
    refused = decide(api, app_id, "approve")
    assert refused.status_code == 403
    assert "colleague" in refused.get_json()["message"] or "同事" in refused.get_json()["message"]
    # Refused by the move's own UPDATE: nothing of it stays.
    after = api.get(f"/applications/{app_id}").get_json()
    assert after["status"] == "in_review" and after["step"]["position"] == 2
    assert [d["step"] for d in after["history"] if d["action"] == "approve"] == [1]
    assert after["pass"] is None


def test_withdraw(client: FlaskClient) -> None:
    api = Api(client, make_user(Role.ENTERPRISE))
    app_id = api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields()}).get_json()[
        "id"
    ]
    api.post(f"/applications/{app_id}/submit")
    assert api.post(f"/applications/{app_id}/withdraw").get_json()["status"] == "withdrawn"
    assert api.post(f"/applications/{app_id}/withdraw").status_code == 409
    assert api.patch(f"/applications/{app_id}", {"plate": "沪A99999"}).status_code == 409


def test_every_change_notifies_and_is_audited(client: FlaskClient, app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    enterprise_api = Api(client, applicant)
    approver_user = make_approver("commerce", "310115")
    approver = Api(client, approver_user)
    app_id = enterprise_api.post(
        "/applications", {"kind": "vehicle_pass", **vehicle_fields()}
    ).get_json()["id"]
    enterprise_api.post(f"/applications/{app_id}/submit")
    decide(approver, app_id, "return", "请补充材料")
    mails = [(m.to, m.body) for m in outbox(app)]
    assert any(to == approver_user.email for to, _ in mails)  # waiting for their decision
    assert any(to == applicant.email and "请补充材料" in body for to, body in mails)
    assert audit.verify_chain() is None
    from permits.extensions import db
    from permits.models import AuditEvent

    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.seq)]
    assert {"application.create", "application.submit", "application.return"} <= set(actions)
    assert "api.token_write" in actions
