"""The approvers' queue: oldest due first, overdue marked, filters, search and keyset pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from permits.extensions import db
from permits.models import Application, Role, utcnow
from permits.services import review_queue, reviews
from permits.services.review_queue import QueueFilter
from tests.api_helpers import Api
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_enterprise,
    make_user,
    service_today,
)


def submitted(count: int, **fields: str) -> list[int]:
    user = make_user(
        Role.ENTERPRISE,
        enterprise=make_enterprise(name=fields.pop("name", None) or "上海测试物流有限公司"),
    )
    plate = fields.pop("plate", None)
    return [
        make_application(user, submit=True, plate=plate or f"沪A{10000 + i}", **fields).id
        for i in range(count)
    ]


def age(app_id: int, hours: int) -> None:
    """Pretend the application entered its step `hours` ago."""
    application = db.session.get(Application, app_id)
    application.step_entered_at = utcnow() - timedelta(hours=hours)
    application.step_due_at = application.step_entered_at + timedelta(hours=12)
    db.session.commit()


def test_overdue_and_oldest_come_first(app: Flask) -> None:
    first, second, third = submitted(3)
    age(first, 1)
    age(second, 30)  # overdue by 18 h
    age(third, 5)
    approver = make_approver("commerce", "310115")
    queue = review_queue.queue(approver, QueueFilter(), now=utcnow())
    assert [a.id for a in queue] == [second, third, first]
    overdue = review_queue.queue(approver, QueueFilter(overdue=True), now=utcnow())
    assert [a.id for a in overdue] == [second]

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, approver.email, PASSWORD)
    page = client.get("/review/").get_data(as_text=True)
    position = {app_id: page.index(f">#{app_id} ·") for app_id in (first, second, third)}
    assert position[second] < position[third] < position[first]
    assert "overdue by 18 h" in page and "is-overdue" in page


def test_filters_and_search(app: Flask) -> None:
    foods = submitted(2, cargo_category="daily_necessities", name="上海鲜达农产品配送有限公司")
    # The same plate as foods[0] may be in review again for days after the other's (no overlap).
    later = service_today() + timedelta(days=14)
    trade = submitted(
        1,
        cargo_category="foreign_trade",
        name="上海外贸进出口有限公司",
        valid_from=later.isoformat(),
        valid_until=(later + timedelta(days=6)).isoformat(),
    )
    approver = make_approver("commerce", "310115")

    def ids(**filters: object) -> list[int]:
        return [a.id for a in review_queue.queue(approver, QueueFilter(**filters), now=utcnow())]

    assert sorted(ids()) == sorted(foods + trade)
    assert ids(cargo_category="foreign_trade") == trade
    assert sorted(ids(search="鲜达")) == sorted(foods)
    assert set(ids(search="沪a10000")) == {foods[0], trade[0]}
    uscc = db.session.get(Application, trade[0]).enterprise.uscc
    assert ids(search=uscc) == trade
    assert ids(district="310104") == []


def test_keyset_pages_cover_every_application_once(app: Flask) -> None:
    app_ids = submitted(7)
    for hours, app_id in enumerate(app_ids):
        age(app_id, hours)
    api = Api(app.test_client(), make_approver("commerce", "310115"))
    seen: list[int] = []
    cursor = None
    while True:
        query = "/applications?step=mine&limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(app_ids))
    assert api.get("/applications?step=mine&cursor=%%%").status_code == 400


def test_the_queue_survives_odd_input(app: Flask) -> None:
    approver = make_approver("commerce", "310115")
    client = app.test_client()
    login(client, approver.email, PASSWORD)
    for query in (
        "?kind=pizza",
        "?cargo_category=x",
        "?after=!!!",
        "?q=" + "%" * 300,
        "?district=1",
    ):
        assert client.get("/review/" + query).status_code == 200, query


def test_an_application_i_signed_at_another_step_is_left_out_of_my_queue(app: Flask) -> None:
    """Separation of duties: the page and the API list only what the approver may decide."""
    from permits.services.organisations import get_or_create_department

    signed, other = make_application(submit=True), make_application(submit=True)
    officer = make_approver("commerce", "310115")
    reviews.decide(officer, signed, "approve", now=utcnow())
    reviews.decide(make_approver("commerce", "310115"), other, "approve", now=utcnow())
    officer.department = get_or_create_department("transport", "city")  # moved to the city
    db.session.commit()
    colleague = make_approver("transport", "city")

    mine = [a.id for a in review_queue.queue(officer, QueueFilter(), now=utcnow())]
    assert mine == [other.id]
    assert {a.id for a in review_queue.queue(colleague, QueueFilter(), now=utcnow())} == {
        signed.id,
        other.id,
    }
    listed = Api(app.test_client(), officer).get("/applications?step=mine").get_json()["items"]
    assert [item["id"] for item in listed] == [other.id]
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, officer.email, PASSWORD)
    page = client.get("/review/").get_data(as_text=True)
    assert f'/applications/{other.id}"' in page and f'/applications/{signed.id}"' not in page
    assert "separation of duties leaves them to your colleagues" in page
