"""What a new user noticed on their first day: the words, the next step and what a screen offers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import Role
from permits.services import review_queue
from tests.api_helpers import Api
from tests.conftest import csrf_token, login, project_root
from tests.factories import (
    PASSWORD,
    PDF,
    make_application,
    make_pass,
    make_user,
    service_today,
    vehicle_fields,
    work_fields,
)


def browser(app: Flask, user: object, language: str = "zh-CN") -> FlaskClient:
    """A logged-in browser of the user, in the language given."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    login(client, user.email, PASSWORD)  # type: ignore[attr-defined]
    return client


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


def test_a_revoked_pass_shows_no_qr_code_pdf_or_share_link(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    phone = browser(app, owner)
    before = phone.get(f"/passes/{issued.number}").get_data(as_text=True)
    assert "<svg" in before and f"/passes/{issued.number}/pdf" in before
    link = phone.post(f"/passes/{issued.number}/share", data={"csrf_token": csrf_token(phone)})
    shared = re.search(r'id="share-link"[^>]*value="([^"]+)"', link.get_data(as_text=True))
    Api(app.test_client(), make_user(Role.ADMIN)).post(
        f"/passes/{issued.number}/revoke", {"reason": "车辆信息不实"}
    )

    page = phone.get(f"/passes/{issued.number}").get_data(as_text=True)
    assert "此证已撤销，不能再使用。" in page and "车辆信息不实" in page
    assert "<svg" not in page and issued.token not in page
    assert (
        f"/passes/{issued.number}/pdf" not in page and f"/passes/{issued.number}/share" not in page
    )
    driver = app.test_client().get(shared.group(1).split("localhost", 1)[1]).get_data(as_text=True)
    assert "<svg" not in driver and "已撤销" in driver

    refusal = f"编号 {issued.number} 已撤销（车辆信息不实），不再提供 PDF 或分享链接。"
    pdf = phone.get(f"/passes/{issued.number}/pdf", follow_redirects=True)
    assert pdf.mimetype == "text/html" and refusal in pdf.get_data(as_text=True)
    assert pdf.request.path == f"/passes/{issued.number}"
    again = phone.post(
        f"/passes/{issued.number}/share",
        data={"csrf_token": csrf_token(phone)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert refusal in again and 'id="share-link"' not in again
    api = Api(app.test_client(), owner)
    refused = api.get(f"/passes/{issued.number}/pdf")
    assert refused.status_code == 410 and refused.get_json()["error"] == "revoked"
    assert api.get(f"/passes/{issued.number}").get_json()["status"] == "revoked"


def test_each_date_of_the_e_pass_is_kept_on_one_line(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    page = browser(app, owner).get(f"/passes/{issued.number}").get_data(as_text=True)
    assert (
        f'<span class="nowrap">{issued.valid_from}</span> – '
        f'<span class="nowrap">{issued.valid_until}</span>'
    ) in page
    css = (project_root() / "permits" / "static" / "css" / "app.css").read_text()
    assert ".nowrap { white-space: nowrap; }" in css


def test_a_valid_work_permit_tells_the_officer_to_compare_the_site_not_a_plate(app: Flask) -> None:
    site = make_pass(kind="work_resumption", resume_date=service_today().isoformat())
    vehicle = make_pass()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    officer = Api(client, make_user(Role.CHECKPOINT))
    for body in ({"qr": site.token}, {"code": site.control_code}):
        verdict = officer.post("/verify", body).get_json()
        assert verdict["result"] == "valid"
        assert verdict["reason"] == "证明有效。请核对企业名称和场所地址。"
    assert officer.post("/verify", {"qr": vehicle.token}).get_json()["reason"] == (
        "通行证有效。请核对车牌和驾驶员。"
    )
    # The scanner's own words (offline verdicts) and the names it shows for district codes.
    page = browser(app, officer.user).get("/checkpoint/").get_data(as_text=True)
    words = json.loads(re.search(r'id="scanner-i18n">(.*?)</script>', page).group(1))
    assert words["reasons"]["valid_work_resumption"] == "证明有效。请核对企业名称和场所地址。"
    assert words["divisions"]["310115"] == "浦东新区"


def test_the_officers_scan_history_names_each_result_in_chinese(app: Flask) -> None:
    issued = make_pass()
    officer = make_user(Role.CHECKPOINT)
    api = Api(app.test_client(), officer)
    api.post("/verify", {"qr": issued.token})
    api.post("/verify", {"code": "ZZZZZZZZ"})
    page = browser(app, officer).get("/checkpoint/history").get_data(as_text=True)
    results = re.findall(r'<strong class="scan-result">(.*?)</strong>', page)
    assert sorted(results) == ["无法识别", "有效"]
    assert 'class="table table-stack"' in page and 'data-label="核验结果"' in page


def test_a_vehicle_pass_takes_the_vehicle_and_driving_licences_as_attachments(app: Flask) -> None:
    owner = make_user(Role.ENTERPRISE)
    draft = make_application(owner)
    api = Api(app.test_client(), owner)
    for purpose in ("vehicle_licence", "driving_licence"):
        upload = api.post(
            f"/applications/{draft.id}/attachments",
            data={"purpose": purpose, "file": (io.BytesIO(PDF), f"{purpose}.pdf")},
            content_type="multipart/form-data",
        )
        assert upload.status_code == 201 and upload.get_json()["purpose"] == purpose
    refused = api.post(
        f"/applications/{draft.id}/attachments",
        data={"purpose": "passport", "file": (io.BytesIO(PDF), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "vehicle_licence, driving_licence" in refused.get_json()["fields"]["purpose"]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["AttachmentInfo"]["properties"]["purpose"]["enum"] == [
        "prevention_plan",
        "vehicle_licence",
        "driving_licence",
        "other",
    ]
    page = browser(app, owner).get(f"/applications/{draft.id}/edit").get_data(as_text=True)
    assert '<option value="vehicle_licence">机动车行驶证</option>' in page
    assert '<option value="driving_licence">机动车驾驶证</option>' in page


def test_the_home_page_offers_each_role_its_next_step(app: Flask) -> None:
    from permits.models import utcnow
    from permits.services import reviews
    from tests.factories import make_approver

    clerk = make_user(Role.ENTERPRISE)
    make_application(clerk)  # a draft
    returned = make_application(clerk, submit=True)
    reviews.decide(
        make_approver("commerce", "310115"),
        returned,
        "return",
        comment="请补充行驶证",
        now=utcnow(),
    )
    make_application(clerk, submit=True)  # in review
    db.session.commit()
    page = browser(app, clerk).get("/").get_data(as_text=True)
    assert "退回修改：1 份" in page and "/applications/?status=returned" in page
    assert "尚未提交的草稿：1 份" in page and "各部门审批中：1 份" in page
    assert "/applications/new/vehicle_pass" in page and "/applications/new/work_resumption" in page

    approver = make_approver("commerce", "310115")
    page = browser(app, approver).get("/").get_data(as_text=True)
    assert "待您审批：1 份" in page and 'href="/review/"' in page

    officer = make_user(Role.CHECKPOINT)
    page = browser(app, officer).get("/").get_data(as_text=True)
    assert 'href="/checkpoint/">打开扫码核验' in page and 'href="/checkpoint/history"' in page


def test_the_approvers_count_leaves_out_what_they_may_not_decide(app: Flask) -> None:
    from permits.models import utcnow
    from permits.services import reviews
    from permits.services.organisations import get_or_create_department
    from tests.factories import make_approver

    signed = make_application(submit=True)
    officer = make_approver("commerce", "310115")
    reviews.decide(officer, signed, "approve", now=utcnow())
    officer.department = get_or_create_department("transport", "city")
    db.session.commit()
    assert review_queue.waiting_count(officer) == 0
    assert review_queue.waiting_count(make_approver("transport", "city")) == 1
    page = browser(app, officer).get("/").get_data(as_text=True)
    assert "目前没有待您审批的申请。" in page
    for _ in range(3):
        make_application(submit=True)
    assert review_queue.waiting_count(make_approver("commerce", "310115"), cap=2) == 3  # capped


def test_origin_and_destination_are_chosen_by_name_and_codes_still_work(app: Flask) -> None:
    from permits.models import Application
    from tests.test_applications_web import vehicle_form

    clerk = make_user(Role.ENTERPRISE)
    phone = browser(app, clerk)
    form_page = phone.get("/applications/new/vehicle_pass").get_data(as_text=True)
    assert '<option value="浦东新区 (310115)">Pudong New Area</option>' in form_page
    assert 'inputmode="numeric"' not in re.search(r'<input[^>]*id="origin"[^>]*>', form_page).group(
        0
    )
    assert form_page.index("(310115)") < form_page.index("(320583)")  # the city's own first

    for origin, destination in (("浦东新区 (310115)", "昆山"), ("310115", "Kunshan City")):
        response = phone.post(
            "/applications/new/vehicle_pass",
            data={
                **vehicle_form(origin=origin, destination=destination),
                "save": "1",
                "csrf_token": csrf_token(phone, "/applications/new/vehicle_pass"),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        db.session.expire_all()
        saved = db.session.query(Application).order_by(Application.id.desc()).first()
        assert (saved.origin, saved.destination) == ("310115", "320583")
    edit = phone.get(f"/applications/{saved.id}/edit").get_data(as_text=True)
    assert 'value="浦东新区 (310115)"' in re.search(r'<input[^>]*id="origin"[^>]*>', edit).group(0)

    refused = phone.post(
        "/applications/new/vehicle_pass",
        data={
            **vehicle_form(origin="火星"),
            "save": "1",
            "csrf_token": csrf_token(phone, "/applications/new/vehicle_pass"),
        },
    ).get_data(as_text=True)
    assert "未知的区县：请输入名称并从列表中选择" in refused and 'value="火星"' in refused

    api = Api(app.test_client(), clerk)
    created = api.post("/applications", {"kind": "vehicle_pass", **vehicle_fields(origin="310115")})
    assert created.status_code == 201 and created.get_json()["origin"] == "310115"


def test_a_division_is_found_by_code_by_list_entry_or_by_an_unambiguous_name() -> None:
    from permits import regions

    city = "310000"
    for typed, code in (
        ("310115", "310115"),
        (" 浦东新区 (310115) ", "310115"),
        ("浦东新区（310115）", "310115"),
        ("浦东新区 310115", "310115"),
        ("浦东", "310115"),
        ("pudong new area", "310115"),
        ("普陀区", "310107"),  # also a district of Zhoushan: the city's own wins
        ("Kunshan", "320583"),
    ):
        assert regions.county_code(typed, city) == code, typed
    for typed in ("310000", "999999", "火星", ""):
        assert regions.county_code(typed, city) is None, typed
