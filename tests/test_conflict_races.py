"""One plate, one live pass; one driver, one vehicle — also when two requests check at the same
moment. Each race is run several times: before the check and the write were serialised, PostgreSQL
let both through in almost every round (READ COMMITTED: both checks see nothing). SQLite lets one
writer at a time in (BEGIN IMMEDIATE), so there the same tests prove the lock is not needed."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from permits.extensions import db
from permits.models import Application, ApplicationBatch, Decision, Driver, Pass, Role, utcnow
from permits.services import conflict_locks, reviews
from permits.workflow import State
from tests.api_helpers import Api
from tests.conftest import csrf_token
from tests.factories import (
    make_application,
    make_approver,
    make_id_number,
    make_user,
    unique_id_number,
    vehicle_fields,
)
from tests.test_bulk_upload import browser, upload, vehicle, xlsx

#: Rounds of each race: enough that one round letting both through is all but certain.
ROUNDS = 6
_plates = itertools.count(1)


def a_plate() -> str:
    return f"沪R{next(_plates) % 100_000:05d}"


def together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Runs the calls in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def one_driver(id_number: str) -> list[dict[str, str]]:
    return [{"name": "钱师傅", "id_number": id_number, "phone": "13900003333"}]


def count(model: Any, *conditions: Any) -> int:
    """Counted in a transaction ended at once: on SQLite an open one would hold the write lock
    that the next round's requests, in other threads, wait for."""
    db.session.expire_all()
    found = db.session.scalar(select(func.count()).select_from(model).where(*conditions))
    db.session.rollback()
    return int(found or 0)


def in_review_with(*conditions: Any) -> int:
    return count(Application, Application.status == State.IN_REVIEW, *conditions)


def test_two_enterprises_submitting_one_plate_at_once_get_it_once(app: Flask) -> None:
    first, second = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    apis = [Api(app.test_client(), first), Api(app.test_client(), second)]
    for _round in range(ROUNDS):
        plate = a_plate()
        # Another enterprise's draft blocks nobody: both drafts exist before the race.
        drafts = [make_application(user, plate=plate).id for user in (first, second)]
        answers = together(
            [
                lambda api=api, i=i: api.post(f"/applications/{i}/submit")
                for api, i in zip(apis, drafts, strict=True)
            ]
        )
        assert sorted(a.status_code for a in answers) == [200, 422]
        refused = next(a for a in answers if a.status_code == 422).get_json()
        assert set(refused["fields"]) == {"plate"}
        assert in_review_with(Application.plate == plate) == 1


def test_the_first_two_submissions_of_a_new_city_at_once_both_land(app: Flask) -> None:
    """The first submission makes the default workflow: two at once on an empty database (two
    vehicles, nothing in common) both land instead of one answering 500 on its unique version."""
    first, second = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    drafts = [make_application(user).id for user in (first, second)]
    apis = [Api(app.test_client(), first), Api(app.test_client(), second)]
    answers = together(
        [
            lambda api=api, i=i: api.post(f"/applications/{i}/submit")
            for api, i in zip(apis, drafts, strict=True)
        ]
    )
    assert [a.status_code for a in answers] == [200, 200]
    assert in_review_with(Application.id.in_(drafts)) == 2


def test_one_driver_submitted_on_two_vehicles_at_once_is_accepted_once(app: Flask) -> None:
    first, second = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    apis = [Api(app.test_client(), first), Api(app.test_client(), second)]
    for _round in range(ROUNDS):
        driver = unique_id_number()
        drafts = [
            make_application(user, plate=a_plate(), drivers=one_driver(driver)).id
            for user in (first, second)
        ]
        answers = together(
            [
                lambda api=api, i=i: api.post(f"/applications/{i}/submit")
                for api, i in zip(apis, drafts, strict=True)
            ]
        )
        assert sorted(a.status_code for a in answers) == [200, 422]
        refused = next(a for a in answers if a.status_code == 422).get_json()
        assert set(refused["fields"]) == {"drivers.0.id_number"}
        assert in_review_with(Application.drivers.any(Driver.id_number == driver)) == 1


def test_two_api_batches_of_one_enterprise_naming_one_plate_at_once_draft_it_once(
    app: Flask,
) -> None:
    """The enterprise's own draft counts: two dispatch calls at once with the same truck (and
    70 others each, past the per-key locks) make one draft of it; the other item is refused."""
    user = make_user(Role.ENTERPRISE)
    apis = [Api(app.test_client(), user), Api(app.test_client(), user)]
    for _round in range(3):
        plate = a_plate()
        bodies = [
            {"applications": [vehicle_fields(plate=plate)] + [vehicle_fields() for _ in range(n)]}
            for n in (0, 70)
        ]
        answers = together(
            [
                lambda api=api, body=body: api.post("/applications/batch", body)
                for api, body in zip(apis, bodies, strict=True)
            ]
        )
        assert [a.status_code for a in answers] == [200, 200]
        firsts = [a.get_json()["results"][0] for a in answers]
        assert sorted(r.get("status") or "refused" for r in firsts) == ["draft", "refused"]
        assert count(Application, Application.plate == plate) == 1


def test_a_spreadsheet_and_a_single_submission_of_one_plate_at_once_submit_it_once(
    app: Flask,
) -> None:
    """Another enterprise submits truck 1 at the moment a file holding it is submitted."""
    user, other = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    client, api = browser(app, user), Api(app.test_client(), other)
    for round_ in range(ROUNDS):
        rows = [
            vehicle(
                200 + round_ * 10 + n,
                plate=a_plate(),
                driver1_id_number=make_id_number("19710101", f"{round_ * 10 + n:03d}"),
            )
            for n in range(2)
        ]
        single = make_application(other, plate=rows[0]["plate"]).id
        url = upload(client, xlsx(rows)).headers["Location"]
        token = csrf_token(client, url)
        together(
            [
                lambda url=url, token=token: client.post(
                    url + "/submit", data={"csrf_token": token}
                ),
                lambda single=single: api.post(f"/applications/{single}/submit"),
            ]
        )
        assert in_review_with(Application.plate == rows[0]["plate"]) == 1
        assert in_review_with(Application.plate == rows[1]["plate"]) == 1


def at_last_step(user: Any, **fields: Any) -> Application:
    """A submitted vehicle application whose first step is approved (it waits at the city's
    transport department)."""
    application = make_application(user, submit=True, **fields)
    code, scope = application.current_department_code, application.current_scope
    reviews.decide(make_approver(code, scope), application, "approve", now=utcnow())
    db.session.commit()
    return application


def race_last_approvals(app: Flask, ids: list[int]) -> list[Any]:
    apis = [Api(app.test_client(), make_approver("transport", "city")) for _ in ids]
    return together(
        [
            lambda api=api, i=i: api.post(f"/applications/{i}/decisions", {"decision": "approve"})
            for api, i in zip(apis, ids, strict=True)
        ]
    )


def assert_one_issued_the_other_untouched(answers: list[Any], ids: list[int]) -> None:
    """One 201 and one clean 409; the refused application still waits at its last step with no
    decision there, and no pass."""
    assert sorted(a.status_code for a in answers) == [201, 409]
    statuses = [a.status_code for a in answers]
    refused = ids[statuses.index(409)]
    # Refused as conflicting with the pass just issued, not as decided already.
    assert answers[statuses.index(409)].get_json()["error"] == "conflict"
    db.session.expire_all()
    waiting = db.session.get(Application, refused)
    assert waiting is not None
    assert waiting.status is State.IN_REVIEW and waiting.current_step == 2
    assert count(Decision, Decision.application_id == refused, Decision.step == 2) == 0
    assert count(Pass, Pass.application_id == refused) == 0


def test_two_last_approvals_for_one_plate_at_once_issue_one_pass(app: Flask) -> None:
    """Two applications for one plate in review together (as the submit race above left them)
    meet at their last steps: one pass is issued, the other approval is refused whole."""
    first, second = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    for _round in range(ROUNDS):
        plate = a_plate()
        ids = [at_last_step(first, plate=plate).id, at_last_step(second, plate=a_plate()).id]
        db.session.execute(update(Application).where(Application.id == ids[1]).values(plate=plate))
        db.session.commit()

        answers = race_last_approvals(app, ids)

        assert_one_issued_the_other_untouched(answers, ids)
        assert count(Pass, Pass.plate == plate) == 1


def test_two_last_approvals_for_one_driver_on_two_vehicles_at_once_issue_one_pass(
    app: Flask,
) -> None:
    first, second = make_user(Role.ENTERPRISE), make_user(Role.ENTERPRISE)
    for _round in range(ROUNDS):
        driver = unique_id_number()
        ids = [
            at_last_step(first, plate=a_plate(), drivers=one_driver(driver)).id,
            at_last_step(second, plate=a_plate()).id,
        ]
        db.session.execute(
            update(Driver).where(Driver.application_id == ids[1]).values(id_number=driver)
        )
        db.session.commit()

        answers = race_last_approvals(app, ids)

        assert_one_issued_the_other_untouched(answers, ids)
        holding = select(Driver.application_id).where(Driver.id_number == driver)
        assert count(Pass, Pass.application_id.in_(holding)) == 1


def test_two_bulk_approvals_crossing_two_plates_at_once_issue_one_pass_per_plate(
    app: Flask,
) -> None:
    """Approver X approves A (plate P) then D (plate Q) in one bulk decision while approver Y
    approves E (Q) then B (P): one pass per plate, each refusal reported for its application,
    and no deadlock (both hold all their plates at once, in order, before the first decision)."""
    user = make_user(Role.ENTERPRISE)
    for _round in range(3):
        p, q = a_plate(), a_plate()
        a, b, d, e = (at_last_step(user, plate=a_plate()).id for _ in range(4))
        for ids, plate in (((a, b), p), ((d, e), q)):
            db.session.execute(
                update(Application).where(Application.id.in_(ids)).values(plate=plate)
            )
        db.session.commit()
        approvers = [Api(app.test_client(), make_approver("transport", "city")) for _ in "XY"]
        answers = together(
            [
                lambda api=api, ids=ids: api.post(
                    "/applications/decisions", {"ids": ids, "decision": "approve"}
                )
                for api, ids in zip(approvers, ([a, d], [e, b]), strict=True)
            ]
        )
        assert [r.status_code for r in answers] == [200, 200]
        assert sum(r.get_json()["decided"] for r in answers) == 2
        errors = [x["error"] for r in answers for x in r.get_json()["results"] if "error" in x]
        assert errors == ["conflict", "conflict"]
        assert count(Pass, Pass.plate == p) == count(Pass, Pass.plate == q) == 1


SUBMITS = 6


def test_six_submits_of_one_upload_at_once_make_one_batch(app: Flask) -> None:
    """Pressed six times at once (six tabs, a double tap and retries), one upload makes one
    batch: each vehicle in review once; the other presses are told it was submitted."""
    user = make_user(Role.ENTERPRISE)
    clients = [browser(app, user) for _ in range(SUBMITS)]
    for round_ in range(ROUNDS):
        rows = [
            vehicle(
                100 + round_ * 10 + n,
                plate=a_plate(),
                driver1_id_number=make_id_number("19700101", f"{round_ * 10 + n:03d}"),
            )
            for n in range(3)
        ]
        result_url = upload(clients[0], xlsx(rows)).headers["Location"]
        tokens = [csrf_token(client, result_url) for client in clients]

        answers = together(
            [
                lambda c=c, t=t, url=result_url: c.post(url + "/submit", data={"csrf_token": t})
                for c, t in zip(clients, tokens, strict=True)
            ]
        )

        assert [a.status_code for a in answers] == [302] * SUBMITS
        assert count(ApplicationBatch) == round_ + 1
        plates = [row["plate"] for row in rows]
        assert in_review_with(Application.plate.in_(plates)) == len(rows)
        told = [clients[i].get("/applications/").get_data(as_text=True) for i in range(SUBMITS)]
        assert sum("was submitted already" in page for page in told) == SUBMITS - 1


def advisory_locks_held() -> list[str]:
    """The lock modes of this session's advisory locks."""
    return list(
        db.session.scalars(
            text(
                "SELECT mode FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() ORDER BY mode"
            )
        )
    )


def test_a_whole_file_holds_one_lock_however_many_vehicles_it_has(
    app: Flask, is_postgres: bool
) -> None:
    """PostgreSQL's lock table has room for about 64 locks per connection: a single vehicle
    holds its plate and drivers (and every vehicle, shared); 10,000 rows hold every vehicle,
    exclusive, and nothing else — and single holders wait for it."""
    if not is_postgres:
        pytest.skip("SQLite needs no lock: one writer at a time (BEGIN IMMEDIATE)")
    single = {"plate": "沪R99999", "drivers": one_driver(unique_id_number())}
    conflict_locks.hold([single])
    assert advisory_locks_held() == ["ExclusiveLock", "ExclusiveLock", "ShareLock"]
    db.session.rollback()
    assert advisory_locks_held() == []

    rows = [
        {
            "plate": f"沪R{n:05d}",
            "drivers": one_driver(make_id_number("19700101", f"{n % 1000:03d}")),
        }
        for n in range(10_000)
    ]
    conflict_locks.hold(rows)
    conflict_locks.hold([single])  # a later call in the same transaction adds nothing
    assert advisory_locks_held() == ["ExclusiveLock"]
    with db.engine.connect() as other:
        taken = other.scalar(
            text("SELECT pg_try_advisory_xact_lock_shared(hashtextextended(:key, 0))"),
            {"key": conflict_locks.EVERY_VEHICLE},
        )
        assert taken is False
    db.session.rollback()
