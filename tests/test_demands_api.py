"""Demand tickets through API v1, as a client system would call it: the whole journey in
Chinese, transfers up to the supervisors, stale actions refused, every ticket seen only by
whom it concerns, the departments' notes hidden from the enterprise, and the list's pages."""

from __future__ import annotations

from flask import Flask

from permits.extensions import db
from permits.models import CITY_SCOPE, Demand, Role, User, utcnow
from permits.models.demands import TITLE_MAX
from permits.services import demand_handling
from permits.views.api.openapi import SPEC
from tests.api_helpers import Api
from tests.factories import make_department, make_enterprise, make_pass, make_user

ZH = {"Accept-Language": "zh-CN"}


def enterprise_user(district: str = "310115") -> User:
    return make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=district))


def officer(code: str = "economy", scope: str = "310115", role: Role = Role.HANDLER) -> User:
    return make_user(role, department=make_department(code, scope))


def in_chinese(api: Api) -> Api:
    api.headers.update(ZH)
    return api


def file(api: Api, **fields: object) -> dict:
    body = {
        "category": "staff_return",
        "title": "员工无法返岗",
        "description": "小区封控，12名员工无法到岗。",
        **fields,
    }
    response = api.post("/demands", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def actions(ticket: dict) -> list[str]:
    return [event["action"] for event in ticket["history"]]


def test_the_whole_journey_in_chinese(app: Flask) -> None:
    enterprise = Api(app.test_client(), enterprise_user())
    district = Api(app.test_client(), officer(role=Role.APPROVER))
    city = Api(app.test_client(), officer("economy", CITY_SCOPE))

    filed = file(enterprise)
    assert filed["status"] == "open"
    assert filed["department"] == {"code": "economy", "scope": "310115"}
    assert filed["due"] is not None and filed["district"] == "310115"
    ticket = f"/demands/{filed['id']}"
    assert enterprise.get(ticket).get_json()["title"] == "员工无法返岗"

    assert district.post(ticket + "/accept").get_json()["status"] == "accepted"
    answered = district.post(ticket + "/answer", {"response": "已协调街道开具返岗证明。"})
    assert answered.get_json()["status"] == "answered"
    reopened = enterprise.post(ticket + "/reopen", {"reason": "证明不被小区认可。"})
    assert reopened.get_json()["status"] == "reopened"
    assert reopened.get_json()["department"] == {"code": "economy", "scope": "310115"}

    # The city department of the same code was copied in: it sees the ticket and notes on it.
    assert city.get(ticket).status_code == 200
    assert city.post(ticket + "/note", {"text": "已与区里沟通"}).status_code == 200
    assert city.post(ticket + "/accept").status_code == 403  # copied in, not holding it

    assert district.post(ticket + "/answer", {"response": "市经信委已发函。"}).status_code == 200
    confirmed = enterprise.post(ticket + "/confirm", {"rating": 5, "comment": "谢谢"})
    assert confirmed.status_code == 200
    closed = confirmed.get_json()
    # Closed, it stays with the department that handled it (which still reads it).
    assert (closed["status"], closed["rating"], closed["department"]) == (
        "closed",
        5,
        {"code": "economy", "scope": "310115"},
    )
    assert closed["closed_at"] is not None
    assert actions(closed) == ["file", "accept", "answer", "reopen", "copy", "answer", "confirm"]
    assert closed["history"][-1]["details"] == {"rating": 5}
    assert closed["history"][2]["text"] == "已协调街道开具返岗证明。"
    assert closed["history"][2]["department"] == {"code": "economy", "scope": "310115"}
    assert closed["history"][0]["department"] is None

    # The city department, still copied in, reads it whole, with the departments' notes.
    official = city.get(ticket).get_json()
    assert "note" in actions(official)
    assert official["history"][actions(official).index("note")]["text"] == "已与区里沟通"


def test_notes_are_never_shown_to_the_enterprise(app: Flask) -> None:
    enterprise = Api(app.test_client(), enterprise_user())
    staff = Api(app.test_client(), officer())
    ticket = f"/demands/{file(enterprise)['id']}"
    noted = staff.post(ticket + "/note", {"text": "内部：先核实员工住址"})
    assert noted.status_code == 200 and "note" in actions(noted.get_json())
    seen = enterprise.get(ticket).get_data(as_text=True)
    assert "先核实员工住址" not in seen
    assert actions(enterprise.get(ticket).get_json()) == ["file"]
    supervisor = Api(app.test_client(), make_user(Role.SUPERVISOR))
    assert "note" in actions(supervisor.get(ticket).get_json())


def test_the_third_transfer_goes_to_the_supervisors(app: Flask) -> None:
    enterprise = Api(app.test_client(), enterprise_user())
    economy, transport, commerce = (
        Api(app.test_client(), officer(code)) for code in ("economy", "transport", "commerce")
    )
    supervisor = make_user(Role.SUPERVISOR)
    ticket = f"/demands/{file(enterprise)['id']}"
    moved = economy.post(ticket + "/transfer", {"department": "transport", "reason": "物流问题"})
    assert moved.get_json()["department"] == {"code": "transport", "scope": "310115"}
    assert economy.post(ticket + "/accept").status_code == 404  # no longer its ticket
    transport.post(ticket + "/transfer", {"department": "commerce", "reason": "属商务"})
    third = commerce.post(ticket + "/transfer", {"department": "economy", "reason": "仍属经济"})
    body = third.get_json()
    assert (body["status"], body["department"], body["transfers"]) == (
        "assigned_by_supervisor",
        None,
        3,
    )
    assert body["history"][-1]["details"]["to"] == "supervisors"
    # Assigning is the supervisors' page, not an API route: done through the service here.
    demand = db.session.get(Demand, body["id"])
    assert demand is not None
    demand_handling.assign(
        supervisor, demand, department_code="transport", scope="310115", now=utcnow()
    )
    db.session.commit()
    assert transport.post(ticket + "/accept").get_json()["status"] == "accepted"


def test_a_stale_action_is_a_conflict(app: Flask) -> None:
    enterprise = Api(app.test_client(), enterprise_user())
    first = Api(app.test_client(), officer())
    second = in_chinese(Api(app.test_client(), officer()))
    ticket = f"/demands/{file(enterprise)['id']}"
    assert first.post(ticket + "/accept").status_code == 200
    late = second.post(ticket + "/accept")
    assert late.status_code == 409
    assert late.get_json()["error"] == "conflict"
    assert late.get_json()["message"] == "该诉求已被他人更新，请刷新页面。"
    assert enterprise.post(ticket + "/withdraw").status_code == 409  # accepted: too late
    assert enterprise.post(ticket + "/confirm", {"rating": 4}).status_code == 409


def test_another_enterprises_or_districts_ticket_is_not_found(app: Flask) -> None:
    owner = Api(app.test_client(), enterprise_user())
    ticket = f"/demands/{file(owner)['id']}"
    stranger = Api(app.test_client(), enterprise_user())
    elsewhere = Api(app.test_client(), officer("economy", "310104"))
    for api in (stranger, elsewhere):
        assert api.get(ticket).status_code == 404
        assert api.get("/demands/987654").status_code == 404
    assert stranger.post(ticket + "/withdraw").status_code == 404
    assert stranger.post(ticket + "/reopen", {"reason": "x"}).status_code == 404
    assert elsewhere.post(ticket + "/accept").status_code == 404
    # A role that never handles tickets is refused outright, whatever the id.
    assert owner.post(ticket + "/accept").status_code == 403
    supervisor = Api(app.test_client(), make_user(Role.SUPERVISOR))
    assert supervisor.get(ticket).status_code == 200
    assert supervisor.post(ticket + "/note", {"text": "看看"}).status_code == 403
    assert supervisor.post("/demands", {"category": "other"}).status_code == 403


def test_wrong_fields_are_named_in_chinese(app: Flask) -> None:
    enterprise = in_chinese(Api(app.test_client(), enterprise_user()))
    refused = enterprise.post(
        "/demands",
        {"category": "rent", "title": "", "description": "x" * 2001, "colour": "red"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"colour": "不接受该字段。"}
    refused = enterprise.post(
        "/demands",
        {"category": "rent", "title": "", "description": "x" * 2001, "pass_number": 1},
    )
    assert refused.get_json()["fields"] == {"pass_number": "请发送文本。"}
    refused = enterprise.post(
        "/demands",
        {"category": "rent", "title": " ", "description": "x" * 2001, "application_id": 987654},
    )
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {
        "category": "请从所列类别中选择。",
        "title": "此项为必填项。",
        "description": "最多 2000 个字符。",
        "application_id": "贵企业没有此编号的申请。",
    }
    beyond = enterprise.post(
        "/demands", {"category": "other", "title": "t", "description": "d", "application_id": 2**31}
    )
    assert beyond.get_json()["fields"] == {"application_id": "贵企业没有此编号的申请。"}
    ticket = f"/demands/{file(enterprise)['id']}"
    staff = Api(app.test_client(), officer())
    staff.post(ticket + "/accept")
    staff.post(ticket + "/answer", {"response": "已处理"})
    for rating in (0, 6, None):
        wrong = enterprise.post(ticket + "/confirm", {"rating": rating})
        assert wrong.get_json()["fields"] == {"rating": "请为办理情况打 1 至 5 分。"}
    wrong = enterprise.post(ticket + "/confirm", {"rating": "5"})
    assert wrong.get_json()["fields"] == {"rating": "请发送整数。"}
    for body in (None, [], "x"):
        assert enterprise.post(ticket + "/reopen", body).status_code == 422


def test_the_document_states_the_limits_the_service_checks(app: Flask) -> None:
    schemas = SPEC["paths"]["/demands"]["post"]["requestBody"]["content"]["application/json"]
    fields = schemas["schema"]["properties"]
    assert fields["title"]["maxLength"] == TITLE_MAX
    assert schemas["schema"]["additionalProperties"] is False
    enterprise = Api(app.test_client(), enterprise_user())
    assert file(enterprise, title="x" * TITLE_MAX)["title"] == "x" * TITLE_MAX
    over = enterprise.post(
        "/demands", {"category": "other", "title": "x" * (TITLE_MAX + 1), "description": "d"}
    )
    assert set(over.get_json()["fields"]) == {"title"}


def test_the_list_shows_each_caller_its_own_newest_first_a_page_at_a_time(app: Flask) -> None:
    mine, theirs = enterprise_user(), enterprise_user()
    enterprise, other = Api(app.test_client(), mine), Api(app.test_client(), theirs)
    staff = Api(app.test_client(), officer())
    health = Api(app.test_client(), officer("health"))
    ids = [file(enterprise)["id"] for _ in range(5)]
    theirs_id = file(other)["id"]
    testing = file(enterprise, category="testing")["id"]  # held by health

    listed = enterprise.get("/demands?limit=2").get_json()
    assert [d["id"] for d in listed["items"]] == [testing, ids[4]]
    rest = enterprise.get(f"/demands?limit=2&cursor={listed['next_cursor']}").get_json()
    assert [d["id"] for d in rest["items"]] == [ids[3], ids[2]]
    last = enterprise.get(f"/demands?limit=5&cursor={rest['next_cursor']}").get_json()
    assert [d["id"] for d in last["items"]] == [ids[1], ids[0]] and last["next_cursor"] is None
    assert "history" not in last["items"][0]

    held = staff.get("/demands?limit=100").get_json()["items"]
    assert {d["id"] for d in held} == {*ids, theirs_id}
    staff.post(f"/demands/{ids[0]}/copy", {"department": "health"})
    copied = {d["id"] for d in health.get("/demands").get_json()["items"]}
    assert copied == {testing, ids[0]}
    assert {d["id"] for d in health.get("/demands?mine=1").get_json()["items"]} == {testing}

    staff.post(f"/demands/{ids[1]}/accept")
    accepted = staff.get("/demands?status=accepted").get_json()["items"]
    assert [d["id"] for d in accepted] == [ids[1]]
    assert [d["id"] for d in enterprise.get("/demands?category=testing").get_json()["items"]] == [
        testing
    ]
    supervisor = Api(app.test_client(), make_user(Role.SUPERVISOR))
    assert len(supervisor.get("/demands?limit=100").get_json()["items"]) == 7
    assert supervisor.get("/demands?mine=1").status_code == 403
    for query in ("status=nope", "category=rent", "cursor=x", "cursor=2147483648", "mine=2"):
        assert enterprise.get(f"/demands?{query}").status_code == 400, query
    checkpoint = Api(app.test_client(), make_user(Role.CHECKPOINT))
    assert checkpoint.get("/demands").status_code == 403


def test_a_ticket_names_the_enterprises_application_or_pass_it_is_about(app: Flask) -> None:
    owner = enterprise_user()
    issued = make_pass(owner)
    enterprise = Api(app.test_client(), owner)
    filed = file(enterprise, application_id=issued.application_id, pass_number=issued.number)
    assert (filed["application_id"], filed["pass_number"]) == (issued.application_id, issued.number)
    listed = enterprise.get("/demands").get_json()["items"][0]
    assert listed["pass_number"] == issued.number
    stranger = Api(app.test_client(), enterprise_user())
    refused = stranger.post(
        "/demands",
        {"category": "other", "title": "t", "description": "d", "pass_number": issued.number},
    )
    assert set(refused.get_json()["fields"]) == {"pass_number"}


def test_a_body_beyond_the_json_limit_or_not_an_object_is_refused_not_a_server_error(
    app: Flask,
) -> None:
    enterprise = Api(app.test_client(), enterprise_user())
    huge = "x" * (app.config["MAX_JSON_LENGTH"] + 1)
    too_large = enterprise.post(
        "/demands", {"category": "other", "title": "t", "description": huge}
    )
    assert too_large.status_code == 413 and too_large.is_json
    for body in ([], "text", 3, None):
        assert enterprise.post("/demands", body).status_code == 422
    wrong_types = enterprise.post("/demands", {"category": 1, "title": [], "description": {}})
    assert set(wrong_types.get_json()["fields"]) == {"category", "title", "description"}
