"""One plate, one pass at a time; one driver, one vehicle at a time: caught at the form, the API,
the submission and the last approval, each time naming the other pass or application."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import Application, Pass, Role, utcnow
from permits.services import applications, issuance
from permits.workflow import State
from tests.api_helpers import Api
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    approve_fully,
    make_application,
    make_approver,
    make_pass,
    make_user,
    service_today,
    unique_id_number,
    vehicle_fields,
)

TODAY = service_today()


def days(start: int, end: int) -> dict[str, str]:
    """valid_from and valid_until, as days from today (both ends included)."""
    return {
        "valid_from": (TODAY + timedelta(days=start)).isoformat(),
        "valid_until": (TODAY + timedelta(days=end)).isoformat(),
    }


def driver(id_number: str) -> list[dict[str, str]]:
    return [{"name": "赵师傅", "id_number": id_number, "phone": "13900002222"}]


def create(api: Api, **fields: Any) -> Any:
    return api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields(**fields)})


OTHERS_PASS = "该车辆已持有另一家企业的通行证，日期存在重叠。"
OTHERS_DRIVER_PASS = "该驾驶员已登记在另一家企业的通行证上，日期存在重叠。"


def test_a_plate_holding_a_pass_is_refused_for_any_overlapping_day_naming_the_pass(
    client: FlaskClient,
) -> None:
    user = make_user(Role.ENTERPRISE)
    issued = make_pass(user, plate="沪A66666", **days(0, 9))
    api = Api(client, user)

    # The last day of the pass is a day of the pass: inclusive ranges.
    refused = create(api, plate="沪a 66666", **days(9, 15))
    assert refused.status_code == 422
    assert set(refused.get_json()["fields"]) == {"plate"}
    assert issued.number in refused.get_json()["fields"]["plate"]

    # From the day after it ends, the plate is free.
    assert create(api, plate="沪A66666", **days(10, 15)).status_code == 201


def test_another_enterprises_pass_is_not_named_nor_its_dates(client: FlaskClient) -> None:
    """One enterprise never sees another's numbers or dates: a plate or driver held by another
    enterprise's pass is refused with the fact alone."""
    busy = unique_id_number()
    theirs = make_pass(plate="沪A67676", drivers=driver(busy), **days(0, 9))
    api = Api(client, make_user(Role.ENTERPRISE))

    refused = create(api, plate="沪A67676", **days(5, 12)).get_json()["fields"]
    assert refused == {"plate": OTHERS_PASS}
    refused = create(api, plate="沪A67677", drivers=driver(busy), **days(5, 12)).get_json()
    assert refused["fields"] == {"drivers.0.id_number": OTHERS_DRIVER_PASS}
    assert theirs.number not in json.dumps(refused, ensure_ascii=False)


def test_a_driver_on_another_vehicles_pass_is_refused_naming_the_pass(client: FlaskClient) -> None:
    busy = unique_id_number()
    user = make_user(Role.ENTERPRISE)
    issued = make_pass(user, plate="沪A10001", drivers=driver(busy), **days(0, 9))
    api = Api(client, user)

    refused = create(api, plate="沪A20002", drivers=driver(busy), **days(5, 12))
    assert refused.status_code == 422
    assert set(refused.get_json()["fields"]) == {"drivers.0.id_number"}
    assert issued.number in refused.get_json()["fields"]["drivers.0.id_number"]

    assert create(api, plate="沪A20002", drivers=driver(busy), **days(10, 12)).status_code == 201


def test_the_same_vehicles_renewal_keeps_its_drivers_and_is_issued(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE)
    old = make_pass(user, plate="沪A30003", **days(0, 6))
    renewal = issuance.renew(user, old, now=utcnow())
    db.session.commit()
    assert renewal.valid_from == old.valid_until + timedelta(days=1)

    applications.submit(user, renewal, now=utcnow())
    db.session.commit()
    new = approve_fully(renewal)
    assert new is not None and new.plate == old.plate
    assert [d.id_number for d in renewal.drivers] == [d.id_number for d in old.application.drivers]


def test_a_renewal_may_overlap_only_the_pass_it_renews(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE)
    old = make_pass(user, plate="沪A30004", **days(0, 6))
    renewal = issuance.renew(user, old, now=utcnow())
    db.session.commit()
    # Brought forward into the old pass's days: that pass is superseded at issue, so no conflict.
    applications.update_draft(user, renewal, days(3, 10), now=utcnow())
    applications.submit(user, renewal, now=utcnow())
    db.session.commit()
    assert approve_fully(renewal) is not None
    db.session.refresh(old)
    assert old.status.value == "revoked"


def test_another_enterprises_draft_blocks_nobody_but_its_submission_is_refused(
    client: FlaskClient,
) -> None:
    slow = make_user(Role.ENTERPRISE)
    their_draft = make_application(slow, plate="沪A40004", **days(1, 5))
    api = Api(client, make_user(Role.ENTERPRISE))

    mine = create(api, plate="沪A40004", **days(0, 3))
    assert mine.status_code == 201
    assert api.post(f"/applications/{mine.get_json()['id']}/submit").status_code == 200

    refused = Api(client, slow).post(f"/applications/{their_draft.id}/submit")
    assert refused.status_code == 422
    # The other enterprise's application is said to exist, not named.
    assert (
        refused.get_json()["fields"]["plate"] == "该车辆已出现在另一家企业的申请中，日期存在重叠。"
    )
    db.session.refresh(their_draft)
    assert their_draft.status is State.DRAFT


def test_an_enterprises_own_duplicate_draft_is_caught(client: FlaskClient) -> None:
    user = make_user(Role.ENTERPRISE)
    first = make_application(user, plate="沪A50005", **days(0, 5))
    refused = create(Api(client, user), plate="沪A50005", **days(2, 4))
    assert refused.status_code == 422
    assert f"申请 {first.id}" in refused.get_json()["fields"]["plate"]


def test_a_returned_application_still_holds_its_plate_and_a_withdrawn_one_does_not(
    client: FlaskClient,
) -> None:
    holder = make_user(Role.ENTERPRISE)
    held = make_application(holder, submit=True, plate="沪A60006", **days(0, 5))
    district = make_approver(held.current_department_code, held.current_scope)
    from permits.services import reviews

    reviews.decide(district, held, "return", comment="请补充材料", now=utcnow())
    db.session.commit()
    api = Api(client, make_user(Role.ENTERPRISE))
    assert create(api, plate="沪A60006", **days(0, 5)).status_code == 422

    applications.withdraw(holder, held, now=utcnow())
    db.session.commit()
    assert create(api, plate="沪A60006", **days(0, 5)).status_code == 201


def test_a_revoked_pass_frees_its_plate(client: FlaskClient) -> None:
    issued = make_pass(plate="沪A70007", **days(0, 9))
    api = Api(client, make_user(Role.ENTERPRISE))
    assert create(api, plate="沪A70007", **days(0, 9)).status_code == 422
    issuance._revoke(issued, None, "stolen", now=utcnow())
    db.session.commit()
    assert create(api, plate="沪A70007", **days(0, 9)).status_code == 201


def test_editing_a_draft_onto_a_taken_plate_is_refused_and_changes_nothing(
    client: FlaskClient,
) -> None:
    user = make_user(Role.ENTERPRISE)
    issued = make_pass(user, plate="沪A80008", **days(0, 9))
    draft = make_application(user, plate="沪A80009", **days(0, 9))
    refused = Api(client, user).patch(f"/applications/{draft.id}", {"plate": "沪A80008"})
    assert refused.status_code == 422
    assert issued.number in refused.get_json()["fields"]["plate"]
    db.session.refresh(draft)
    assert draft.plate == "沪A80009"


def test_the_form_shows_the_conflict_next_to_the_plate_and_the_driver(app: Flask) -> None:
    busy = unique_id_number()
    user = make_user(Role.ENTERPRISE)
    issued = make_pass(user, plate="沪A90009", drivers=driver(busy), **days(0, 9))
    other = make_pass(user, plate="沪A90010", **days(0, 9))
    client = app.test_client()
    assert login(client, user.email, PASSWORD).status_code == 302
    fields = vehicle_fields(plate="沪A90010", **days(3, 5))
    form = {k: str(v) for k, v in fields.items() if k != "drivers"}
    form.update({"drivers-0-name": "赵师傅", "drivers-0-id_number": busy})
    form.update({"drivers-0-phone": "13900002222", "save": "1"})
    page = "/applications/new/vehicle_pass"
    response = client.post(page, data={**form, "csrf_token": csrf_token(client, page)})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    plate_error = re.search(r'<p class="error" id="plate-error">([^<]*)</p>', html)
    driver_error = re.search(r'<p class="error" id="drivers-0-id_number-error">([^<]*)</p>', html)
    assert plate_error and other.number in plate_error.group(1)
    assert driver_error and issued.number in driver_error.group(1)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 2


def test_of_two_applications_in_review_at_once_only_the_first_gets_a_pass(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_application(submit=True, plate="沪B11111", **days(0, 9))
    # Both submitted at the same moment: the second's check ran before the first existed.
    real = applications.taken_by_others
    monkeypatch.setattr(applications, "taken_by_others", lambda *_a, **_k: {})
    second = make_application(submit=True, plate="沪B11111", **days(5, 12))
    monkeypatch.setattr(applications, "taken_by_others", real)
    issued = approve_fully(first)

    district = make_approver(second.current_department_code, second.current_scope)
    from permits.services import reviews

    reviews.decide(district, second, "approve", now=utcnow())
    db.session.commit()
    city = Api(client, make_approver(second.current_department_code, second.current_scope))
    refused = city.post(f"/applications/{second.id}/decisions", {"decision": "approve"})

    assert refused.status_code == 409
    assert issued.number in refused.get_json()["message"]
    assert issued.number in refused.get_json()["fields"]["plate"]
    db.session.expire_all()
    assert db.session.get(Application, second.id).status is State.IN_REVIEW
    assert db.session.scalar(select(func.count()).select_from(Pass)) == 1
    # The approver can still return it, with the reason.
    returned = city.post(
        f"/applications/{second.id}/decisions",
        {"decision": "return", "comment": f"车辆已有通行证 {issued.number}"},
    )
    assert returned.status_code == 201


def test_an_applications_own_pass_never_conflicts_with_its_last_approval(app: Flask) -> None:
    """Two approvers race on the last step: the one whose request read the application before
    the other's approval committed must hear "already decided", not that the plate is taken by
    the very pass that approval issued."""
    from permits.services import conflicts

    application = make_application(submit=True, plate="沪B22222", **days(0, 9))
    issued = approve_fully(application)
    assert issued.application_id == application.id
    conflicts.check_before_issue(application, now=utcnow())  # raises Conflict if it counted


def test_the_last_approval_names_the_pass_that_holds_a_driver_and_the_one_that_holds_the_plate(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plate and driver taken by two different passes since both were submitted: the last
    approval is refused naming each pass beside its own field."""
    driver = {"name": "王师傅", "id_number": unique_id_number(), "phone": "13900001111"}
    by_plate = make_application(submit=True, plate="沪B33333", **days(0, 9))
    by_driver = make_application(submit=True, plate="沪B44444", drivers=[driver], **days(0, 9))
    real = applications.taken_by_others
    monkeypatch.setattr(applications, "taken_by_others", lambda *_a, **_k: {})
    late = make_application(submit=True, plate="沪B33333", drivers=[driver], **days(3, 12))
    monkeypatch.setattr(applications, "taken_by_others", real)
    plate_pass, driver_pass = approve_fully(by_plate), approve_fully(by_driver)

    from permits.services import reviews

    reviews.decide(
        make_approver(late.current_department_code, late.current_scope),
        late,
        "approve",
        now=utcnow(),
    )
    db.session.commit()
    city = Api(client, make_approver(late.current_department_code, late.current_scope))
    refused = city.post(f"/applications/{late.id}/decisions", {"decision": "approve"})

    assert refused.status_code == 409
    fields = refused.get_json()["fields"]
    assert plate_pass.number in fields["plate"]
    assert driver_pass.number in fields["drivers.0.id_number"]
    assert driver_pass.number not in fields["plate"]
    assert db.session.scalar(select(func.count()).select_from(Pass)) == 2
