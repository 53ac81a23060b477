"""Bulk decisions (#9 item 3): an approver decides a batch, or a page of the queue, in one action;
each application is still decided on its own, and a refusal touches only its own application."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from permits.extensions import db
from permits.mail import outbox
from permits.models import (
    Application,
    ApplicationBatch,
    AuditEvent,
    Decision,
    Notification,
    Role,
    User,
    utcnow,
)
from permits.services import batch_review, issuance, reviews
from permits.services.errors import Conflict
from permits.workflow import Action, State
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_enterprise,
    make_id_number,
    make_user,
)

_trucks = itertools.count(100)


def make_batch(count: int, *, district: str = "310115", user: User | None = None) -> list[int]:
    """`count` vehicle applications sent together and submitted; returns their ids (batch: the
    `batch_id` of the first). Each truck has its own plate and driver."""
    user = user or make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=district))
    batch = ApplicationBatch(
        enterprise_id=user.enterprise_id,
        created_by_id=user.id,
        source="upload",
        filename="fleet.xlsx",
        created_at=utcnow(),
    )
    db.session.add(batch)
    db.session.commit()
    ids = []
    for _ in range(count):
        n = next(_trucks)
        driver = {
            "name": f"司机{n}",
            "id_number": make_id_number(serial=f"{n:03d}"),
            "phone": "13900001111",
        }
        application = make_application(
            user, submit=True, plate=f"沪B{n:05d}", origin=district, drivers=[driver]
        )
        application.batch_id = batch.id
        ids.append(application.id)
    db.session.commit()
    return ids


def batch_of(application_id: int) -> int:
    batch_id = db.session.get(Application, application_id).batch_id
    assert batch_id is not None
    return batch_id


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, user.email, PASSWORD)
    return client


def decisions_of(application_id: int) -> list[Decision]:
    return list(
        db.session.scalars(
            select(Decision)
            .where(Decision.application_id == application_id, Decision.step.is_not(None))
            .order_by(Decision.id)
        )
    )


def audited(action: str, application_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            AuditEvent.action == action,
            AuditEvent.object_type == "Application",
            AuditEvent.object_id == str(application_id),
        )
    )


def status(application_id: int) -> State:
    db.session.expire_all()
    return db.session.get(Application, application_id).status


def test_a_batch_approved_in_bulk_gets_one_decision_and_audit_event_each_and_passes_at_the_end(
    app: Flask,
) -> None:
    ids = make_batch(3)
    batch_id = batch_of(ids[0])
    district = make_approver("commerce", "310115")
    city = make_approver("transport", "city")

    client = browser(app, district)
    page = client.get(f"/review/batches/{batch_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(f">#{i} ·" in text for i in ids)
    result = form_post(
        client,
        "/review/decisions",
        {
            "ids": [str(i) for i in ids],
            "decision": "approve",
            "next": f"/review/batches/{batch_id}",
        },
        page=f"/review/batches/{batch_id}",
    )
    assert result.status_code == 200
    assert "3 of 3 applications decided." in result.get_data(as_text=True)

    for application_id in ids:
        (decision,) = decisions_of(application_id)
        assert (decision.action, decision.step, decision.actor_id) == (
            Action.APPROVE,
            1,
            district.id,
        )
        assert audited("application.approve", application_id) == 1
        assert db.session.get(Application, application_id).current_step == 2

    answer = Api(app.test_client(), city).post(
        "/applications/decisions", {"ids": ids, "decision": "approve"}
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["decided"], body["refused"]) == (3, 0)
    assert [r["id"] for r in body["results"]] == ids
    assert all(r["application"]["status"] == "approved" for r in body["results"])
    db.session.expire_all()
    for application_id in ids:
        assert [d.step for d in decisions_of(application_id)] == [1, 2]
        assert audited("application.approve", application_id) == 2
        assert issuance.pass_of(db.session.get(Application, application_id)) is not None


def test_one_decided_by_someone_else_meanwhile_is_reported_and_the_others_are_decided(
    app: Flask,
) -> None:
    first, second, third = make_batch(3)
    colleague = make_approver("commerce", "310115", name="李审批")
    reviews.decide(
        colleague,
        db.session.get(Application, second),
        "reject",
        comment="车辆信息不符",
        now=utcnow(),
    )
    db.session.commit()

    me = make_approver("commerce", "310115")
    answer = Api(app.test_client(), me).post(
        "/applications/decisions", {"ids": [first, second, third], "decision": "approve"}
    )
    assert answer.status_code == 200
    results = {r["id"]: r for r in answer.get_json()["results"]}
    assert results[first]["result"] == results[third]["result"] == "decided"
    assert results[second]["result"] == "error"
    assert results[second]["error"] == "already_decided"
    assert "李审批" in results[second]["message"]
    assert status(second) is State.REJECTED
    assert [d.action for d in decisions_of(second)] == [Action.REJECT]
    assert [d.actor_id for d in decisions_of(first)] == [me.id]
    assert [d.actor_id for d in decisions_of(third)] == [me.id]


def test_the_result_page_names_each_application_that_could_not_be_decided(app: Flask) -> None:
    first, second = make_batch(2)
    reviews.decide(
        make_approver("commerce", "310115"), db.session.get(Application, first), "approve",
        now=utcnow(),
    )  # fmt: skip
    db.session.commit()
    client = browser(app, make_approver("commerce", "310115"))
    result = form_post(
        client, "/review/decisions", {"ids": [str(first), str(second)], "decision": "approve"},
        page="/review/",
    )  # fmt: skip
    text = result.get_data(as_text=True)
    assert "1 of 2 applications decided." in text
    assert "Already decided by" in text and f"#{first}" in text
    assert status(second) is State.IN_REVIEW and len(decisions_of(second)) == 1


def test_a_failure_after_the_notifications_rolls_back_only_its_own_application(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass of one application cannot be issued: its decision, notifications and emails go;
    the others' stay."""
    ids = make_batch(3)
    step_one = make_approver("commerce", "310115")
    batch_review.decide_many(
        step_one, ids, batch_review.load_applications(ids), "approve", now=utcnow()
    )
    db.session.commit()
    broken = ids[1]
    real_issue = issuance.issue_pass

    def issue_pass(application: Application, *, now: Any) -> Any:
        if application.id == broken:
            raise Conflict("the signing service is unavailable")
        return real_issue(application, now=now)

    monkeypatch.setattr(issuance, "issue_pass", issue_pass)
    applicant = db.session.get(Application, broken).created_by.email
    mails_before = len(outbox(app))
    notices_before = db.session.scalar(
        select(func.count()).where(Notification.application_id == broken)
    )

    client = browser(app, make_approver("transport", "city"))
    result = form_post(
        client, "/review/decisions", {"ids": [str(i) for i in ids], "decision": "approve"}
    )
    assert "2 of 3 applications decided." in result.get_data(as_text=True)
    assert status(broken) is State.IN_REVIEW
    assert [d.step for d in decisions_of(broken)] == [1]
    assert audited("application.approve", broken) == 1
    assert (
        db.session.scalar(select(func.count()).where(Notification.application_id == broken))
        == notices_before
    )
    sent = outbox(app)[mails_before:]
    assert sent and all(f"#{broken}" not in mail.subject for mail in sent)
    assert {mail.to for mail in sent} == {applicant}  # the two others' approvals and passes
    for done in (ids[0], ids[2]):
        assert status(done) is State.APPROVED
        assert issuance.pass_of(db.session.get(Application, done)) is not None


def test_select_all_on_the_page_works_without_javascript(app: Flask) -> None:
    ids = make_batch(3)
    client = browser(app, make_approver("commerce", "310115"))
    queue = client.get("/review/").get_data(as_text=True)
    assert 'name="all_on_page"' in queue and "js/select-all.js" in queue
    result = form_post(
        client,
        "/review/decisions",
        {"page_ids": [str(i) for i in ids], "all_on_page": "y", "decision": "approve"},
        page="/review/",
    )
    assert "3 of 3 applications decided." in result.get_data(as_text=True)
    assert all(status(i) is State.IN_REVIEW and len(decisions_of(i)) == 1 for i in ids)


def test_a_bulk_rejection_gives_every_application_the_same_reason(app: Flask) -> None:
    ids = make_batch(2)
    answer = Api(app.test_client(), make_approver("commerce", "310115")).post(
        "/applications/decisions",
        {
            "ids": ids,
            "decision": "reject",
            "comment": "非重点物资",
            "reason_code": "not_key_supply",
        },
    )
    assert answer.get_json()["decided"] == 2
    for application_id in ids:
        (decision,) = decisions_of(application_id)
        assert (decision.action, decision.comment, decision.reason_code) == (
            Action.REJECT,
            "非重点物资",
            "not_key_supply",
        )
        assert status(application_id) is State.REJECTED


def test_a_return_without_a_comment_decides_nothing(app: Flask) -> None:
    ids = make_batch(2)
    approver = make_approver("commerce", "310115")
    answer = Api(app.test_client(), approver).post(
        "/applications/decisions", {"ids": ids, "decision": "return"}
    )
    assert answer.status_code == 422
    assert "comment" in answer.get_json()["fields"]

    client = browser(app, approver)
    refused = form_post(
        client, "/review/decisions", {"ids": [str(i) for i in ids], "decision": "return"}
    )
    assert refused.status_code == 422  # the queue again, as sent (tests/test_form_refusals.py)
    assert "Say what the enterprise should change." in refused.get_data(as_text=True)
    assert all(decisions_of(i) == [] for i in ids)


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        ([], "Choose at least one application."),
        (list(range(1, batch_review.MAX_BULK + 2)), "At most 200 applications at once."),
        (["1", "2"], "Send the application ids as a list of numbers."),
        ("1,2", "Send the application ids as a list of numbers."),
    ],
)
def test_the_list_of_ids_is_bounded_and_checked(app: Flask, ids: Any, problem: str) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    api = Api(client, make_approver("commerce", "310115"))
    answer = api.post("/applications/decisions", {"ids": ids, "decision": "approve"})
    assert answer.status_code == 422
    assert answer.get_json()["fields"]["ids"] == problem


def test_the_queue_tags_each_batch_row_with_a_link_to_the_batch(app: Flask) -> None:
    ids = make_batch(3)
    batch_id = batch_of(ids[0])
    lone = make_application(make_user(Role.ENTERPRISE), submit=True, plate="沪C99999").id
    client = browser(app, make_approver("commerce", "310115"))
    queue = client.get("/review/").get_data(as_text=True)
    assert queue.count(f'href="/review/batches/{batch_id}"') == 3
    assert f"Batch #{batch_id}" in queue and "3 of 3 at your step" in queue
    row = queue[queue.index(f">#{lone} ·") :]
    assert "Batch #" not in row[: row.index("</li>")]


def test_a_batch_is_invisible_to_another_enterprise_and_to_approvers_out_of_scope(
    app: Flask,
) -> None:
    ids = make_batch(2)
    batch_id = batch_of(ids[0])
    other_enterprise = make_user(Role.ENTERPRISE)
    xuhui = make_approver("commerce", "310104")  # the same department, another district
    city = make_approver("transport", "city")  # the next step: nothing waits there yet

    assert browser(app, other_enterprise).get(f"/review/batches/{batch_id}").status_code == 403
    outsider = Api(app.test_client(), other_enterprise)
    assert all(outsider.get(f"/applications/{i}").status_code == 404 for i in ids)
    assert outsider.post("/applications/decisions", {"ids": ids, "decision": "approve"}).status_code == 403  # fmt: skip

    for approver in (xuhui, city):
        client = browser(app, approver)
        assert client.get(f"/review/batches/{batch_id}").status_code == 404
        assert f"Batch #{batch_id}" not in client.get("/review/").get_data(as_text=True)

    answer = Api(app.test_client(), xuhui).post(
        "/applications/decisions", {"ids": ids, "decision": "approve"}
    )
    assert [r["error"] for r in answer.get_json()["results"]] == ["not_found", "not_found"]
    assert all(decisions_of(i) == [] for i in ids)

    assert (
        browser(app, make_approver("commerce", "310115"))
        .get(f"/review/batches/{batch_id}")
        .status_code
        == 200
    )


def test_the_batch_page_lists_only_what_waits_at_my_step(app: Flask) -> None:
    ids = make_batch(3)
    batch_id = batch_of(ids[0])
    step_one = make_approver("commerce", "310115")
    reviews.decide(step_one, db.session.get(Application, ids[0]), "approve", now=utcnow())
    db.session.commit()

    city_page = browser(app, make_approver("transport", "city")).get(f"/review/batches/{batch_id}")
    text = city_page.get_data(as_text=True)
    assert f">#{ids[0]} ·" in text
    assert f">#{ids[1]} ·" not in text and f">#{ids[2]} ·" not in text

    mine = browser(app, step_one).get(f"/review/batches/{batch_id}").get_data(as_text=True)
    assert f">#{ids[0]} ·" not in mine and f">#{ids[1]} ·" in mine


def test_ids_that_no_application_can_have_are_reported_not_found(app: Flask) -> None:
    (real,) = make_batch(1)
    api = Api(app.test_client(), make_approver("commerce", "310115"))
    answer = api.post(
        "/applications/decisions", {"ids": [0, -5, 2**40, real, real], "decision": "approve"}
    )
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [(r["id"], r["result"]) for r in results] == [
        (0, "error"),
        (-5, "error"),
        (2**40, "error"),
        (real, "decided"),
    ]
    assert {r.get("error") for r in results[:3]} == {"not_found"}


def test_a_batch_number_no_row_can_have_is_simply_not_found(app: Flask) -> None:
    (real,) = make_batch(1)
    client = browser(app, make_approver("commerce", "310115"))
    assert client.get("/review/batches/99999999999999999999").status_code == 404
    page = client.get(f"/review/batches/{batch_of(real)}?after=99999999999999999999")
    assert page.status_code == 200 and f">#{real} ·" not in page.get_data(as_text=True)
