"""Mass revocation: one admin previews and asks, a second admin confirms, every pass revoked."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.models import (
    AuditEvent,
    MassRevocation,
    MassRevocationStatus,
    Notification,
    Pass,
    PassStatus,
    Role,
    User,
)
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import PASSWORD, make_enterprise, make_pass, make_user

LIST = "/admin/revocations/"


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, user.email, PASSWORD)
    return client


def criteria(**given: str) -> dict[str, str]:
    return {
        "district": "",
        "cargo_category": "",
        "uscc": "",
        "issued_from": "",
        "issued_until": "",
        **given,
    }


def ask(client: FlaskClient, reason: str = "疫情防控需要,统一收回", **given: str) -> Any:
    return form_post(client, LIST, {**criteria(**given), "reason": reason}, page=LIST)


def status_of(number: str) -> PassStatus:
    db.session.rollback()
    found = db.session.scalar(select(Pass.status).where(Pass.number == number))
    assert found is not None
    return found


def the_only_mass_revocation() -> MassRevocation:
    db.session.rollback()
    return db.session.scalars(select(MassRevocation)).one()


class City:
    """Two enterprises' passes: the medical ones of Pudong match; each other one differs once."""

    def __init__(self) -> None:
        self.first = make_user(Role.ENTERPRISE)
        self.second = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104"))
        assert self.first.enterprise is not None and self.second.enterprise is not None
        self.first_uscc = self.first.enterprise.uscc
        pudong_medical = {"origin": "310115", "cargo_category": "medical"}
        self.matching = make_pass(self.first, plate="沪A10001", **pudong_medical).number
        self.of_second = make_pass(self.second, plate="沪B10002", **pudong_medical).number
        revoked = make_pass(self.first, plate="沪A10003", **pudong_medical)
        self.already_revoked = revoked.number
        self.other_district = make_pass(
            self.first, plate="沪A10004", origin="310104", cargo_category="medical"
        ).number
        self.other_category = make_pass(
            self.first, plate="沪A10005", origin="310115", cargo_category="postal"
        ).number
        revoked = db.session.get(Pass, revoked.id)
        revoked.status = PassStatus.REVOKED
        db.session.commit()

    @property
    def untouched(self) -> list[str]:
        return [self.other_district, self.other_category]


def test_every_page_and_action_is_refused_to_non_admins(app: Flask) -> None:
    city_admin = make_user(Role.ADMIN)
    admin = browser(app, city_admin)
    make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    assert ask(admin, district="310115").status_code == 302
    mass_id = the_only_mass_revocation().id
    pages = [LIST, f"/admin/revocations/{mass_id}"]
    actions = [
        LIST,
        "/admin/revocations/preview",
        f"/admin/revocations/{mass_id}/confirm",
        f"/admin/revocations/{mass_id}/cancel",
    ]
    for role in (Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT):
        client = browser(app, make_user(role))
        for path in pages:
            assert client.get(path).status_code == 403, (role, path)
        for path in actions:
            assert form_post(client, path, criteria(district="310115")).status_code == 403
    anonymous = app.test_client()
    for path in pages:
        response = anonymous.get(path)
        assert response.status_code in (302, 401), path
        if response.status_code == 302:
            assert response.location.startswith("/login"), path
    for path in actions:
        assert anonymous.post(path, data=criteria(district="310115")).status_code in (302, 400, 401)
    assert the_only_mass_revocation().status is MassRevocationStatus.PENDING


def test_supervisors_read_the_list_but_every_change_is_refused(app: Flask) -> None:
    admin = browser(app, make_user(Role.ADMIN))
    make_pass(make_user(Role.ENTERPRISE), cargo_category="medical")
    ask(admin, reason="供应链调整", district="310115")
    mass_id = the_only_mass_revocation().id
    supervisor = browser(app, make_user(Role.SUPERVISOR))
    listing = supervisor.get(LIST)
    assert listing.status_code == 200 and "供应链调整" in listing.get_data(as_text=True)
    assert 'action="/admin/revocations/preview"' not in listing.get_data(as_text=True)
    shown = supervisor.get(f"/admin/revocations/{mass_id}")
    assert shown.status_code == 200 and "Confirm" not in shown.get_data(as_text=True)
    for path in (
        "/admin/revocations/preview",
        LIST,
        f"/admin/revocations/{mass_id}/confirm",
        f"/admin/revocations/{mass_id}/cancel",
    ):
        response = form_post(supervisor, path, {**criteria(district="310115"), "reason": "x"})
        assert response.status_code == 403, path
    assert the_only_mass_revocation().status is MassRevocationStatus.PENDING


def test_preview_counts_exactly_the_matching_active_passes(app: Flask) -> None:
    city = City()
    admin = browser(app, make_user(Role.ADMIN))
    given = criteria(district="310115", cargo_category="medical", uscc=city.first_uscc.lower())
    response = form_post(admin, "/admin/revocations/preview", given, page=LIST)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 active passes match now" in page
    assert city.matching in page and "沪A10001" in page
    for other in (city.of_second, city.already_revoked, *city.untouched):
        assert other not in page
    wider = form_post(admin, "/admin/revocations/preview", criteria(district="310115"), page=LIST)
    assert "3 active passes match now" in wider.get_data(as_text=True)  # + other category, B
    assert status_of(city.matching) is PassStatus.ACTIVE  # a preview changes nothing


def test_a_preview_without_criteria_or_with_bad_ones_says_what_to_fix(app: Flask) -> None:
    admin = browser(app, make_user(Role.ADMIN))
    nothing = form_post(admin, "/admin/revocations/preview", criteria(), page=LIST)
    assert nothing.status_code == 422
    assert "Give at least one criterion" in nothing.get_data(as_text=True)
    wrong = form_post(
        admin,
        "/admin/revocations/preview",
        criteria(district="999999", uscc="91310115MA1K000000", issued_from="tomorrow"),
        page=LIST,
    )
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "Choose one of the city" in page
    assert "No enterprise is registered with this code" in page
    assert "Enter a date as YYYY-MM-DD" in page


def test_asking_needs_a_reason_and_tells_the_other_admins(app: Flask) -> None:
    city = City()
    requester, colleague = make_user(Role.ADMIN), make_user(Role.ADMIN)
    admin = browser(app, requester)
    refused = ask(admin, reason="  ", district="310115", cargo_category="medical")
    assert refused.status_code == 422
    assert "Give the reason" in refused.get_data(as_text=True)
    assert db.session.scalars(select(MassRevocation)).all() == []

    assert ask(admin, district="310115", cargo_category="medical").status_code == 302
    mass = the_only_mass_revocation()
    assert mass.status is MassRevocationStatus.PENDING and mass.preview_count == 2
    assert mass.requested_by_id == requester.id
    assert status_of(city.matching) is PassStatus.ACTIVE
    told = db.session.scalars(select(Notification.user_id).where(Notification.event.like("mass%")))
    assert list(told) == [colleague.id]
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "mass_revocation.ask")
    )


def test_the_requester_cannot_confirm_their_own(app: Flask) -> None:
    city = City()
    admin = browser(app, make_user(Role.ADMIN))
    ask(admin, district="310115", cargo_category="medical")
    mass_id = the_only_mass_revocation().id
    page = admin.get(f"/admin/revocations/{mass_id}").get_data(as_text=True)
    assert "a different administrator must confirm it" in page
    assert f"/admin/revocations/{mass_id}/confirm" not in page
    response = form_post(admin, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)
    assert response.status_code == 302
    told = admin.get(response.location).get_data(as_text=True)
    assert "a different administrator must confirm it" in told
    assert the_only_mass_revocation().status is MassRevocationStatus.PENDING
    assert status_of(city.matching) is PassStatus.ACTIVE


def test_a_second_admin_confirms_and_exactly_the_matching_passes_are_revoked(
    app: Flask,
) -> None:
    city = City()
    requester = browser(app, make_user(Role.ADMIN))
    ask(requester, reason="冷链物资检出阳性", district="310115", cargo_category="medical")
    mass_id = the_only_mass_revocation().id
    feed_before = app.test_client().get("/api/v1/revocations?since=0").get_json()["counter"]

    second = browser(app, make_user(Role.ADMIN))
    shown = second.get(f"/admin/revocations/{mass_id}").get_data(as_text=True)
    assert "冷链物资检出阳性" in shown and "2 active passes match now" in shown
    response = form_post(second, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)
    assert response.status_code == 302
    assert "2 passes are revoked" in second.get(response.location).get_data(as_text=True)

    mass = the_only_mass_revocation()
    assert mass.status is MassRevocationStatus.DONE and mass.revoked_count == 2
    for number in (city.matching, city.of_second):
        assert status_of(number) is PassStatus.REVOKED
    for number in city.untouched:
        assert status_of(number) is PassStatus.ACTIVE

    checkpoint = Api(app.test_client(), make_user(Role.CHECKPOINT))
    for number in (city.matching, city.of_second):
        code = db.session.scalar(select(Pass.control_code).where(Pass.number == number))
        verdict = checkpoint.post("/verify", {"code": code}).get_json()
        assert verdict["result"] == "revoked"
        assert verdict["pass"]["revoke_reason"] == "冷链物资检出阳性"
    feed = app.test_client().get(f"/api/v1/revocations?since={feed_before}").get_json()
    assert sorted(feed["revoked"]) == sorted([city.matching, city.of_second])
    assert feed["counter"] == feed_before + 2  # gapless

    batch = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "mass_revocation.confirm")
    ).one()
    assert batch.details["count"] == 2
    assert sorted(batch.details["passes"]) == sorted([city.matching, city.of_second])  # type: ignore[arg-type]


def test_each_affected_enterprise_is_told_once_with_its_count(app: Flask) -> None:
    city = City()
    colleague = make_user(Role.ENTERPRISE, enterprise=city.first.enterprise)
    make_pass(city.first, plate="沪A10006", origin="310115", cargo_category="medical")
    outsider = make_user(Role.ENTERPRISE)
    ask(browser(app, make_user(Role.ADMIN)), district="310115", cargo_category="medical")
    mass_id = the_only_mass_revocation().id
    before = db.session.scalar(select(Notification.id).order_by(Notification.id.desc()))
    second = browser(app, make_user(Role.ADMIN))
    form_post(second, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)

    db.session.rollback()
    told = db.session.execute(
        select(Notification.user_id, Notification.params).where(
            Notification.id > (before or 0), Notification.event == "mass_revoked"
        )
    ).all()
    counts = {user_id: params["count"] for user_id, params in told}
    assert counts == {city.first.id: "2", colleague.id: "2", city.second.id: "1"}
    assert outsider.id not in counts
    page = browser(app, colleague).get("/notifications/").get_data(as_text=True)
    assert "2 of your passes were revoked" in page


def test_a_cancelled_mass_revocation_cannot_be_confirmed(app: Flask) -> None:
    city = City()
    requester = browser(app, make_user(Role.ADMIN))
    ask(requester, district="310115")
    mass_id = the_only_mass_revocation().id
    assert form_post(requester, f"/admin/revocations/{mass_id}/cancel", {}).status_code == 302
    assert the_only_mass_revocation().status is MassRevocationStatus.CANCELLED

    second = browser(app, make_user(Role.ADMIN))
    response = form_post(second, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)
    assert "already confirmed or cancelled" in second.get(response.location).get_data(as_text=True)
    assert the_only_mass_revocation().status is MassRevocationStatus.CANCELLED
    assert status_of(city.matching) is PassStatus.ACTIVE


def test_a_confirmed_one_runs_once(app: Flask) -> None:
    City()
    ask(browser(app, make_user(Role.ADMIN)), district="310115", cargo_category="medical")
    mass_id = the_only_mass_revocation().id
    second, third = browser(app, make_user(Role.ADMIN)), browser(app, make_user(Role.ADMIN))
    form_post(second, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)
    late = form_post(third, f"/admin/revocations/{mass_id}/confirm", {}, page=LIST)
    assert "already confirmed or cancelled" in third.get(late.location).get_data(as_text=True)
    mass = the_only_mass_revocation()
    assert mass.revoked_count == 2
    assert (
        db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "mass_revocation.confirm").offset(1)
        )
        is None
    )


def test_the_issue_window_counts_calendar_days_in_the_service_zone(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    early = make_pass(owner, plate="沪A20001")
    late = make_pass(owner, plate="沪A20002")
    # 2024-03-01 23:30 in Shanghai is 15:30 UTC; 2024-03-02 00:30 is 16:30 UTC on the 1st.
    for issued, hour in ((early, 15), (late, 16)):
        row = db.session.get(Pass, issued.id)
        row.issued_at = row.issued_at.replace(2024, 3, 1, hour, 30)
    db.session.commit()
    admin = browser(app, make_user(Role.ADMIN))
    window = criteria(issued_from="2024-03-02", issued_until="2024-03-02")
    page = form_post(admin, "/admin/revocations/preview", window, page=LIST).get_data(as_text=True)
    assert "1 active passes match now" in page
    assert late.number in page and early.number not in page
