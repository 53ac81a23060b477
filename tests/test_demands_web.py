"""Demand tickets through the HTML pages, as an enterprise, a district department, the city
department and the supervisors would use them: each page in Chinese and English, refusals shown
beside their fields with what was typed kept and nothing written, the whole journey through the
forms, and nobody reading another's ticket."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.demand_workflow import DemandState
from permits.extensions import db
from permits.models import CITY_SCOPE, Demand, DemandEvent, Role, User, utcnow
from permits.services import demand_handling, demands
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_department,
    make_enterprise,
    make_user,
)

PUDONG = "310115"


def browser(app: Flask, user: User, lang: str = "zh-CN") -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def post(client: FlaskClient, path: str, data: dict[str, Any], page: str) -> Any:
    """As the browser would: with the CSRF token of the page the form is on."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def text(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


def enterprise_user(district: str = PUDONG) -> User:
    return make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=district))


def filed(user: User, **fields: Any) -> Demand:
    demand = demands.file_demand(
        user,
        category=fields.pop("category", "staff_return"),
        title=fields.pop("title", "员工无法返岗"),
        description=fields.pop("description", "小区封控，12名员工无法到岗。"),
        now=utcnow(),
        **fields,
    )
    db.session.commit()
    return demand


def current(demand_id: int) -> Demand:
    db.session.rollback()
    db.session.expire_all()
    demand = db.session.get(Demand, demand_id)
    assert demand is not None
    return demand


def events(demand_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(DemandEvent).where(DemandEvent.demand_id == demand_id)
    )


# --- every page, in both languages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["我的诉求", "提交诉求", "员工无法返岗", "待受理", "具体描述", "撤回诉求"]),
        (
            "en",
            [
                "My demands",
                "File a demand",
                "Staff cannot return to work",
                "Waiting to be accepted",
                "Description",
                "Withdraw the demand",
            ],
        ),
    ],
)
def test_the_enterprises_pages_speak_its_language(app: Flask, lang: str, words: list[str]) -> None:
    owner = enterprise_user()
    demand = filed(owner)
    client = browser(app, owner, lang)
    pages = "".join(
        text(client.get(path)) for path in ("/demands/", "/demands/new", f"/demands/{demand.id}")
    )
    for word in words:
        assert word in pages, word
    assert 'href="/demands/"' in text(client.get("/"))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["本部门的诉求", "受理此诉求", "转办其他部门", "抄送部门", "添加工作备注"]),
        (
            "en",
            [
                "Demands for my department",
                "Accept this demand",
                "Transfer to another department",
                "Copy in a department",
                "Add a working note",
            ],
        ),
    ],
)
def test_the_departments_pages_speak_its_language(app: Flask, lang: str, words: list[str]) -> None:
    approver = make_approver("economy", PUDONG)
    demand = filed(enterprise_user())
    client = browser(app, approver, lang)
    queue = text(client.get("/demands/queue"))
    assert f"/demands/{demand.id}" in queue
    pages = queue + text(client.get(f"/demands/{demand.id}"))
    for word in words:
        assert word in pages, word


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["待指派的诉求", "指派办理部门"]),
        ("en", ["Demands to assign", "Assign to a department"]),
    ],
)
def test_the_supervisors_assign_what_was_transferred_too_often(
    app: Flask, lang: str, words: list[str]
) -> None:
    economy = make_approver("economy", PUDONG)
    transport = make_approver("transport", PUDONG)
    demand = filed(enterprise_user())
    for actor, to in ((economy, "transport"), (transport, "economy"), (economy, "transport")):
        demand_handling.transfer(
            actor, demand, department_code=to, reason="不归我们管", now=utcnow()
        )
        db.session.commit()
    assert demand.status is DemandState.ASSIGNED_BY_SUPERVISOR
    client = browser(app, make_user(Role.SUPERVISOR), lang)
    pages = text(client.get("/demands/to-assign")) + text(client.get(f"/demands/{demand.id}"))
    for word in words:
        assert word in pages, word
    page = f"/demands/{demand.id}"
    answer = post(client, f"{page}/assign", {"department": "health", "scope": PUDONG}, page)
    assert answer.status_code == 422  # no health commission in Pudong yet
    assert events(demand.id) == 4
    answer = post(client, f"{page}/assign", {"department": "economy", "scope": PUDONG}, page)
    assert answer.status_code == 302
    assert (current(demand.id).status, current(demand.id).department_code) == (
        DemandState.OPEN,
        "economy",
    )


# --- refusals -------------------------------------------------------------------------------


def test_an_empty_title_is_said_beside_the_field_and_the_description_is_kept(app: Flask) -> None:
    owner = enterprise_user()
    client = browser(app, owner)
    answer = post(
        client,
        "/demands/new",
        {"category": "staff_return", "title": "  ", "description": "小区封控，员工无法返岗。"},
        "/demands/new",
    )
    assert answer.status_code == 422
    page = text(answer)
    assert '<p class="error" id="title-error">此项为必填项。</p>' in page
    assert 'aria-invalid="true"' in page
    assert "小区封控，员工无法返岗。</textarea>" in page
    assert db.session.scalar(select(func.count()).select_from(Demand)) == 0


def test_a_transfer_without_a_reason_leaves_nothing_written(app: Flask) -> None:
    approver = make_approver("economy", PUDONG)
    make_approver("transport", PUDONG)
    demand = filed(enterprise_user())
    before = events(demand.id)
    client = browser(app, approver)
    page = f"/demands/{demand.id}"
    answer = post(client, f"{page}/transfer", {"department": "transport", "reason": ""}, page)
    assert answer.status_code == 422
    assert 'id="reason-error"' in text(answer)
    assert '<option selected value="transport">' in text(answer)
    after = current(demand.id)
    assert (after.department_code, after.transfers, after.revision) == ("economy", 0, 0)
    assert events(demand.id) == before

    answer = post(
        client, f"{page}/transfer", {"department": "transport", "reason": "物流问题"}, page
    )
    assert answer.headers["Location"] == "/demands/queue"  # no longer ours to see
    assert current(demand.id).department_code == "transport"


def test_a_rating_is_required_to_confirm(app: Flask) -> None:
    owner = enterprise_user()
    approver = make_approver("economy", PUDONG)
    demand = filed(owner)
    demand_handling.accept(approver, demand, now=utcnow())
    demand_handling.answer(approver, demand, response="已协调。", now=utcnow())
    db.session.commit()
    client = browser(app, owner)
    page = f"/demands/{demand.id}"
    answer = post(client, f"{page}/confirm", {"comment": "谢谢"}, page)
    assert answer.status_code == 422
    assert 'id="rating-error">请为办理情况打 1 至 5 分。' in text(answer)
    assert "谢谢</textarea>" in text(answer)
    assert current(demand.id).status is DemandState.ANSWERED


def test_a_stale_second_accept_is_told_and_changes_nothing(app: Flask) -> None:
    approver = make_approver("economy", PUDONG)
    demand = filed(enterprise_user())
    client = browser(app, approver)
    page = f"/demands/{demand.id}"
    assert post(client, f"{page}/accept", {}, page).status_code == 302
    again = post(client, f"{page}/accept", {}, page)
    assert again.status_code == 302
    assert "该诉求已被他人更新" in text(client.get(page))
    assert events(demand.id) == 2


def test_a_form_without_its_csrf_token_is_refused(app: Flask) -> None:
    approver = make_approver("economy", PUDONG)
    demand = filed(enterprise_user())
    client = browser(app, approver)
    assert client.post(f"/demands/{demand.id}/accept").status_code == 400
    assert current(demand.id).status is DemandState.OPEN


# --- the journey ----------------------------------------------------------------------------


def test_file_accept_answer_reopen_answer_confirm_through_the_forms(app: Flask) -> None:
    owner = enterprise_user()
    application = make_application(owner, kind="work_resumption", district=PUDONG)
    district = make_approver("economy", PUDONG)
    city = make_user(Role.HANDLER, department=make_department("economy", CITY_SCOPE))
    firm, officer = browser(app, owner), browser(app, district)

    answer = post(
        firm,
        "/demands/new",
        {
            "category": "staff_return",
            "title": "员工无法返岗",
            "description": "小区封控，12名员工无法到岗。",
            "application_id": str(application.id),
        },
        "/demands/new",
    )
    assert answer.status_code == 302
    page = answer.headers["Location"]
    demand_id = int(page.rsplit("/", 1)[1])
    assert current(demand_id).application_id == application.id
    assert "员工无法返岗" in text(officer.get("/demands/queue"))

    assert post(officer, f"{page}/accept", {}, page).status_code == 302
    assert post(officer, f"{page}/note", {"text": "先联系街道"}, page).status_code == 302
    answer = post(officer, f"{page}/answer", {"response": "已协调街道开具返岗证明。"}, page)
    assert answer.status_code == 302
    seen = text(firm.get(page))
    assert "已协调街道开具返岗证明。" in seen and "您的困难解决了吗？" in seen
    assert "先联系街道" not in seen  # the working note stays between the departments
    assert "先联系街道" in text(officer.get(page))

    answer = post(firm, f"{page}/reopen", {"reason": "证明不被小区认可。"}, page)
    assert answer.status_code == 302
    assert current(demand_id).status is DemandState.REOPENED
    helper = browser(app, city)
    seen = text(helper.get(page))
    assert "证明不被小区认可。" in seen and "添加工作备注" in seen and "答复企业" not in seen
    assert "抄送本部门的诉求" in text(helper.get("/demands/queue"))

    answer = post(officer, f"{page}/answer", {"response": "市经信委已发函小区。"}, page)
    assert answer.status_code == 302
    answer = post(firm, f"{page}/confirm", {"rating": "5", "comment": "谢谢"}, page)
    assert answer.status_code == 302
    done = current(demand_id)
    assert (done.status, done.rating) == (DemandState.CLOSED, 5)
    seen = text(firm.get(page))
    assert "已解决" in seen and "5 分（满分 5 分）" in seen
    assert "员工无法返岗" in text(firm.get("/demands/"))


def test_the_enterprise_withdraws_before_it_is_accepted(app: Flask) -> None:
    owner = enterprise_user()
    demand = filed(owner)
    client = browser(app, owner, "en")
    page = f"/demands/{demand.id}"
    assert post(client, f"{page}/withdraw", {}, page).status_code == 302
    assert current(demand.id).status is DemandState.WITHDRAWN
    assert "Withdraw the demand" not in text(client.get(page))


# --- who sees what --------------------------------------------------------------------------


def test_another_enterprise_and_another_district_get_404(app: Flask) -> None:
    demand = filed(enterprise_user())
    page = f"/demands/{demand.id}"
    stranger = browser(app, enterprise_user())
    assert stranger.get(page).status_code == 404
    assert post(stranger, f"{page}/withdraw", {}, "/demands/").status_code == 404
    elsewhere = browser(app, make_approver("economy", "310104"))
    assert elsewhere.get(page).status_code == 404
    assert post(elsewhere, f"{page}/accept", {}, "/demands/queue").status_code == 404
    assert current(demand.id).status is DemandState.OPEN
    assert browser(app, make_user(Role.ENTERPRISE)).get("/demands/987654").status_code == 404


def test_supervisors_and_admins_read_every_ticket_and_change_nothing(app: Flask) -> None:
    demand = filed(enterprise_user())
    for role in (Role.SUPERVISOR, Role.ADMIN):
        client = browser(app, make_user(role))
        page = text(client.get(f"/demands/{demand.id}"))
        assert "员工无法返岗" in page and "受理此诉求" not in page
        assert post(client, f"/demands/{demand.id}/accept", {}, "/").status_code == 403
    assert current(demand.id).status is DemandState.OPEN


def test_roles_that_never_use_a_page_get_403(app: Flask) -> None:
    checkpoint = browser(app, make_user(Role.CHECKPOINT))
    for path in ("/demands/", "/demands/new", "/demands/queue", "/demands/to-assign", "/demands/1"):
        assert checkpoint.get(path).status_code == 403, path
    approver = browser(app, make_approver("economy", PUDONG))
    assert approver.get("/demands/new").status_code == 403
    assert browser(app, enterprise_user()).get("/demands/queue").status_code == 403


def test_a_handler_finds_the_queue_from_the_navigation(app: Flask) -> None:
    staff = make_user(Role.HANDLER, department=make_department("economy", PUDONG))
    link = f'href="/demands/{filed(enterprise_user()).id}"'
    client = browser(app, staff)
    assert 'href="/demands/queue"' in text(client.get("/"))
    assert link in text(client.get("/demands/queue?category=staff_return&status=open"))
    assert link not in text(client.get("/demands/queue?category=logistics"))
    assert link not in text(client.get("/demands/queue?status=answered"))


def test_a_city_department_filters_its_queue_by_district(app: Flask) -> None:
    staff = make_user(Role.HANDLER, department=make_department("transport", CITY_SCOPE))
    pudong = filed(enterprise_user(PUDONG), category="logistics")
    xuhui = filed(enterprise_user("310104"), category="logistics")
    client = browser(app, staff, "en")
    page = text(client.get("/demands/queue?district=310104"))
    assert f'href="/demands/{xuhui.id}"' in page and f'href="/demands/{pudong.id}"' not in page
    assert f'href="/demands/{pudong.id}"' in text(client.get("/demands/queue"))
